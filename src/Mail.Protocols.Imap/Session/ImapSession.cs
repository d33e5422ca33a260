using System.Buffers;
using Mail.Protocols.Connections;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Telemetry;
using Mail.Protocols.Sasl;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Imap.Session;

/// <summary>The states of RFC 9051 §3.</summary>
internal enum ImapState
{
    NotAuthenticated,
    Authenticated,
    Selected,
}

/// <summary>
/// One IMAP conversation (RFC 9051, and RFC 3501 for clients that do not ENABLE IMAP4rev2). Commands are read whole
/// by the <see cref="ImapCommandReader"/> (lines and literals), parsed synchronously, and executed one at a time;
/// the replies of a pipelined batch go out in one write. While a folder is selected, what other sessions, SMTP
/// delivery and POP3 change reaches this one through its <see cref="MailboxSubscription"/> and is reported at the
/// points RFC 9051 §7 allows. The session is the only writer of its connection's output.
/// </summary>
internal sealed partial class ImapSession : CommandSession
{
    private readonly ImapServerContext _server;
    private readonly ILogger _logger;
    private readonly ImapCommandReader _reader;
    private readonly AuthFailureBudget _authFailures;
    private CommandReadOutcome _read;
    // The command running now, counted when it has been answered (OnCommandEnded).
    private string? _commandName;
    private byte[] _tag = new byte[16];
    private int _tagLength;

    private ImapState _state;
    private MailUser? _user;
    private MailboxSubscription? _subscription;
    private SelectedFolder? _selected;

    // ENABLE (RFC 5161): what the client switched on.
    private bool _imap4rev2;
    private bool _utf8Accept;
    private bool _condStore;
    private bool _qresync;

    // RFC 9051 §5.1: IMAP4rev2's mailbox names are UTF-8 (Net-Unicode), as RFC 6855's UTF8=ACCEPT makes them in IMAP4rev1;
    // an IMAP4rev1 client gets modified UTF-7.
    private bool Utf8MailboxNames => _utf8Accept || _imap4rev2;

    public ImapSession(ImapServerContext server, MailConnection connection)
        : base(server.Server, connection, server.Options.MaxErrors, server.Options.IdleTimeout)
    {
        _server = server;
        _logger = server.Logger;
        _reader = new ImapCommandReader(IO, server.Options);
        _authFailures = new AuthFailureBudget(server.Options.FailedAuthDelay, server.Options.MaxAuthFailures, connection.TimeProvider);
    }

    private ImapServerOptions Options => _server.Options;

    private IMailboxStore Store => _server.Store;

    /// <summary>The tag of the command being executed.</summary>
    private ReadOnlySpan<byte> Tag => _tag.AsSpan(0, _tagLength);

    protected override void OnStarted() => _server.Metrics.SessionStarted();

    protected override void WriteGreeting()
    {
        // RFC 9051 §7.1.1: the greeting may carry the capabilities, which saves clients a round trip.
        IO.Write("* OK ["u8);
        WriteCapabilities();
        IO.Write("] "u8);
        IO.WriteAscii(Options.ServerName);
        IO.Write(" IMAP ready\r\n"u8);
    }

    protected override void WriteShuttingDown() => IO.Write(ImapReplies.ShuttingDown);

    // Connections per client address (SessionRateLimits): * BYE [UNAVAILABLE] instead of the greeting, then close.
    protected override bool RefuseAtConnect()
    {
        if (AcceptConnection(Options.RateLimits))
        {
            return false;
        }
        ImapLog.RateLimited(_logger, Connection.Id, RateLimits.SessionRateLimit.ConnectionsPerAddress);
        _server.Metrics.Rejected(ImapRejectReason.ConnectionRateLimited);
        IO.Write("* "u8);
        IO.Write(ImapReplies.For(ImapRejectReason.ConnectionRateLimited));
        return true;
    }

    protected override async ValueTask<LineReadOutcome> ReadCommandAsync()
    {
        // RFC 9051 §5.4: the 30-minute autologout is for logged-in sessions; one that has not logged in gets less.
        _read = await _reader.ReadAsync(_state == ImapState.NotAuthenticated ? Options.LoginTimeout : Options.IdleTimeout).ConfigureAwait(false);
        return _read switch
        {
            CommandReadOutcome.Command or CommandReadOutcome.AppendMessage or CommandReadOutcome.Refused or CommandReadOutcome.RefusedFatal => LineReadOutcome.Line,
            CommandReadOutcome.LineTooLong => LineReadOutcome.TooLong,
            CommandReadOutcome.TimedOut => LineReadOutcome.TimedOut,
            CommandReadOutcome.ShutdownRequested => LineReadOutcome.ShutdownRequested,
            _ => LineReadOutcome.Closed,
        };
    }

    protected override void OnLineTooLong()
    {
        _server.Metrics.Rejected(ImapRejectReason.CommandTooLarge);
        CountError();
        IO.Write(ImapReplies.LineTooLong);
    }

    protected override void OnTimedOut()
    {
        ImapLog.Timeout(_logger, Connection.Id, Connection.TimedOut);
        if (Connection.TimedOut == TimeoutReason.MinimumDataRate)
        {
            // A literal (an APPEND's message or one inside a command) arrived below the minimum data rate.
            _server.Metrics.Rejected(ImapRejectReason.DataRateTooLow);
            IO.Write("* "u8);
            IO.Write(ImapReplies.For(ImapRejectReason.DataRateTooLow));
            return;
        }
        // RFC 9051 §5.4: the autologout is announced with an untagged BYE.
        IO.Write(ImapReplies.Autologout);
    }

    protected override bool OnCommandFailed(Exception exception)
    {
        if (exception is not MailboxStoreException { Error: not MailboxStoreError.Unavailable })
        {
            ImapLog.StoreFailed(_logger, Connection.Id, exception); // a refusal the store gave on purpose is no failure
        }
        // A user directory that fails during a login is the login's trouble, not the mailbox's (RFC 5530 UNAVAILABLE).
        Reject(_authenticating ? ImapRejectReason.AuthTemporaryFailure
            : exception is MailboxStoreException store ? ReasonFor(store.Error) : ImapRejectReason.StoreUnavailable);
        _authenticating = false;
        return true;
    }

    // What a store's refusal means to the client; a command that needs another meaning (TRYCREATE for a missing
    // target) catches the exception itself.
    private static ImapRejectReason ReasonFor(MailboxStoreError error) => error switch
    {
        MailboxStoreError.FolderNotFound => ImapRejectReason.MailboxNotFound,
        MailboxStoreError.FolderExists => ImapRejectReason.MailboxExists,
        MailboxStoreError.MessageNotFound => ImapRejectReason.ExpungeIssued,
        MailboxStoreError.NotAllowed => ImapRejectReason.NotAllowed,
        MailboxStoreError.InvalidName => ImapRejectReason.InvalidName,
        MailboxStoreError.InsufficientStorage or MailboxStoreError.MailboxFull => ImapRejectReason.StorageFull,
        MailboxStoreError.InvalidKeyword => ImapRejectReason.InvalidKeyword,
        _ => ImapRejectReason.StoreUnavailable,
    };

    // An IOException while the connection stands is the store's (a Maildir on a failing disk): the command gets
    // NO [UNAVAILABLE] and the session goes on; if the socket was the cause, the next read or write ends the session
    // anyway. A literal that did not arrive is the connection's: what is left of it must never be read as commands.
    protected override bool IsConnectionFailure(Exception exception) =>
        exception is LiteralReadException
        || Connection.IsConnectionFailure(exception) && !(exception is IOException && !Connection.Aborted.IsCancellationRequested);

    protected override void OnErrorBudgetSpent()
    {
        ImapLog.TooManyErrors(_logger, Connection.Id);
        IO.Write(ImapReplies.TooManyErrors);
    }

    protected override void OnConnectionLost(Exception exception) => ImapLog.ConnectionLost(_logger, Connection.Id, exception.Message);

    protected override void OnEnded(TimeSpan duration)
    {
        _subscription?.Dispose();
        _server.Metrics.SessionEnded(duration);
    }


    protected override ValueTask<bool> ExecuteAsync()
    {
        var command = _reader.Command;
        _tagLength = 0;
        switch (_read)
        {
            case CommandReadOutcome.Refused:
                SetTag(ImapCommandReader.TagOf(command));
                Reject(_reader.Refusal);
                return ValueTask.FromResult(true);
            case CommandReadOutcome.RefusedFatal:
                SetTag(ImapCommandReader.TagOf(command));
                Reject(_reader.Refusal);
                return ValueTask.FromResult(false);
        }
        var reader = new ImapReader(command) { Utf8Accept = Utf8MailboxNames };
        try
        {
            SetTag(reader.ReadTag());
            reader.ReadSpace("Missing command after the tag");
            var verb = ImapVerbs.Parse(reader.ReadCommandName());
            if (verb == ImapVerb.Uid)
            {
                reader.ReadSpace("Missing command after UID");
                verb = ImapVerbs.ParseUid(reader.ReadCommandName());
            }
            var name = ImapVerbs.Name(verb);
            _commandName = name;
            // IDLE is left out too: its span would last as long as the client waits.
            if (!ImapTracing.Source.HasListeners() || verb is ImapVerb.Capability or ImapVerb.Id or ImapVerb.Logout or ImapVerb.StartTls or ImapVerb.Idle
                || StartCommandSpan(ImapTracing.Source, "IMAP " + name) is not { } span)
            {
                // Each command's arguments are parsed here, synchronously; what a command does with them runs after.
                return Dispatch(verb, ref reader);
            }
            span.SetTag("mail.imap.command", name);
            ValueTask<bool> running;
            try
            {
                running = Dispatch(verb, ref reader);
            }
            catch (Exception ex)
            {
                FailCommandSpan(ex);
                throw;
            }
            return EndCommandSpan(running);
        }
        catch (ImapParseException ex)
        {
            RejectSyntax(ex.Message);
            return _read == CommandReadOutcome.AppendMessage ? SkipAppendMessageAsync() : ValueTask.FromResult(true);
        }
    }

    protected override void OnCommandEnded(string? refusal)
    {
        if (_commandName is { } name)
        {
            _server.Metrics.Command(name, refusal);
            _commandName = null;
        }
    }

    private void SetTag(ReadOnlySpan<byte> tag)
    {
        if (tag.Length > _tag.Length)
        {
            _tag = new byte[tag.Length];
        }
        tag.CopyTo(_tag);
        _tagLength = tag.Length;
    }

    // Replies

    /// <summary>Writes <c>tag OK text</c> and resets the error budget; <paramref name="text"/> ends with CRLF.</summary>
    private void Ok(ReadOnlySpan<byte> text)
    {
        WriteTagged("OK "u8);
        IO.Write(text);
        Success();
    }

    /// <summary>Starts a tagged line: the tag, a space, then <paramref name="status"/>.</summary>
    private void WriteTagged(ReadOnlySpan<byte> status)
    {
        IO.Write(Tag.IsEmpty ? "*"u8 : Tag);
        IO.Write(" "u8);
        IO.Write(status);
    }

    /// <summary>The tagged refusal of the command, from the one table of replies.</summary>
    private void Reject(ImapRejectReason reason)
    {
        MarkCommandRefused(reason.ToString());
        _server.Metrics.Rejected(reason);
        CountError();
        WriteTagged(ImapReplies.For(reason));
    }

    /// <summary>The tagged BAD of a command the grammar refused, with the parser's text.</summary>
    private void RejectSyntax(string text)
    {
        MarkCommandRefused(nameof(ImapRejectReason.SyntaxError));
        _server.Metrics.Rejected(ImapRejectReason.SyntaxError);
        CountError();
        WriteTagged(ImapReplies.For(ImapRejectReason.SyntaxError));
        WriteText(text);
        IO.Write("\r\n"u8);
    }

    // Reply text stays printable ASCII on one line.
    private void WriteText(string text)
    {
        var span = IO.Output.GetSpan(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            span[i] = text[i] is >= ' ' and <= '~' ? (byte)text[i] : (byte)'?';
        }
        IO.Output.Advance(text.Length);
    }
}
