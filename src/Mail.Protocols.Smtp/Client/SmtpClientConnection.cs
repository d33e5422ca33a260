using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Mail.Protocols.Queue;
using Mail.Protocols.Text;

namespace Mail.Protocols.Smtp.Client;

/// <summary>A reply from the server: its code and text lines.</summary>
/// <param name="Code">The three-digit reply code.</param>
/// <param name="Lines">The text of each line, without the code.</param>
public sealed record SmtpServerReply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>2xx.</summary>
    public bool IsSuccess => Code is >= 200 and < 300;

    /// <summary>5xx: a permanent failure.</summary>
    public bool IsPermanentFailure => Code >= 500;

    /// <summary>The reply as one line, for logs and DSNs ("550 5.1.1 unknown user").</summary>
    public override string ToString() => $"{Code} {string.Join(' ', Lines)}";
}

/// <summary>What the server said about one recipient.</summary>
/// <param name="Recipient">The recipient.</param>
/// <param name="Reply">The reply to its RCPT (or to DATA, for an accepted recipient whose message was then refused).</param>
public sealed record SmtpRecipientResult(QueueRecipient Recipient, SmtpServerReply Reply);

/// <summary>A connection or protocol failure before any recipient could be tried.</summary>
public sealed class SmtpClientException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SmtpClientException(string message, SmtpServerReply? reply = null, Exception? innerException = null)
        : base(message, innerException) => Reply = reply;

    /// <summary>Creates the exception.</summary>
    public SmtpClientException() : this("SMTP client failure") { }

    /// <summary>Creates the exception.</summary>
    public SmtpClientException(string message) : this(message, null, null) { }

    /// <summary>Creates the exception.</summary>
    public SmtpClientException(string message, Exception innerException) : this(message, null, innerException) { }

    /// <summary>The server's reply, when there was one.</summary>
    public SmtpServerReply? Reply { get; }

    /// <summary>Whether the failure is permanent (a 5xx greeting or EHLO/HELO refusal).</summary>
    public bool IsPermanent => Reply?.IsPermanentFailure ?? false;
}

/// <summary>
/// The sending side of RFC 5321 over one connection: greeting, EHLO (HELO when refused), opportunistic or
/// required STARTTLS, then any number of messages with PIPELINING, SIZE, 8BITMIME/BINARYMIME, SMTPUTF8, DSN
/// parameters and CHUNKING where the server offers them, each with a result per recipient.
/// </summary>
public sealed class SmtpClientConnection : IAsyncDisposable
{
    private readonly SmtpClientOptions _options;
    private readonly Stream _network;
    private readonly string _host;
    private readonly string _helloName;
    private SslStream? _tls;
    private PipeReader _input;
    private PipeWriter _output;
    private SmtpReplyReader _replyReader;
    private readonly HashSet<string> _extensions = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _authMechanisms = new(StringComparer.OrdinalIgnoreCase);

    private SmtpClientConnection(Stream network, string host, SmtpClientOptions options, string helloName)
    {
        _network = network;
        _host = host;
        _options = options;
        _helloName = helloName;
        (_input, _output) = Pipes(network);
    }

    /// <summary>The greeting.</summary>
    public SmtpServerReply? Greeting { get; private set; }

    /// <summary>Whether the connection is encrypted.</summary>
    public bool IsSecure => _tls is not null;

    /// <summary>The server's SIZE limit, if it declared one.</summary>
    public long? MaxSize { get; private set; }

    /// <summary>Whether the server offers an extension (EHLO keyword, e.g. "PIPELINING").</summary>
    public bool Supports(string extension) => _extensions.Contains(extension);

    /// <summary>Connects, reads the greeting, says EHLO (or HELO) and starts TLS as the policy asks.</summary>
    /// <param name="endPoint">The server's address.</param>
    /// <param name="host">The server's name (for TLS).</param>
    /// <param name="options">Settings.</param>
    /// <param name="cancellationToken">Cancels the whole exchange.</param>
    /// <exception cref="SmtpClientException">The server refused us (4xx/5xx greeting or EHLO) or TLS was required and failed.</exception>
    /// <exception cref="AuthenticationException">The TLS handshake failed, or the server certificate was not trusted where it
    /// had to be (with credentials, or <see cref="SmtpClientOptions.ValidateCertificate"/>); nothing was sent after STARTTLS.</exception>
    /// <exception cref="ArgumentException">The EHLO name is not a domain or address literal, or the credentials hold a NUL.</exception>
    public static async Task<SmtpClientConnection> ConnectAsync(IPEndPoint endPoint, string host, SmtpClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentException.ThrowIfNullOrEmpty(host);
        options ??= new SmtpClientOptions();
        // Settings are written into commands: refuse what would not be one argument of its production.
        if (options.LocalName is { } localName && !EnvelopeSyntax.IsHelloName(localName))
        {
            throw new ArgumentException("LocalName must be a domain or an address literal (RFC 5321 §4.1.1.1).", nameof(options));
        }
        if (options.Credentials is { } credentials && !(EnvelopeSyntax.IsSaslValue(credentials.UserName) && EnvelopeSyntax.IsSaslValue(credentials.Password)))
        {
            throw new ArgumentException("The credentials must be text without NUL (RFC 4616).", nameof(options));
        }
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        // Without a configured name: the machine's, when it is a domain; else the address we leave from (RFC 5321 §4.1.4).
        var helloName = options.LocalName
            ?? (EnvelopeSyntax.IsHelloName(SmtpHelloName.MachineName) ? SmtpHelloName.MachineName : SmtpHelloName.AddressLiteral(((IPEndPoint)socket.LocalEndPoint!).Address));
        var connection = new SmtpClientConnection(new NetworkStream(socket, ownsSocket: true), host, options, helloName);
        try
        {
            await connection.HandshakeAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        Greeting = await ReadReplyAsync(_options.GreetingTimeout, cancellationToken).ConfigureAwait(false);
        if (Greeting.Code != 220)
        {
            throw new SmtpClientException($"{_host} greeted with {Greeting}", Greeting);
        }
        await HelloAsync(cancellationToken).ConfigureAwait(false);
        if (_options.StartTls != StartTlsPolicy.Never && Supports("STARTTLS"))
        {
            var reply = await CommandAsync("STARTTLS", _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (reply.Code == 220)
            {
                await StartTlsAsync(cancellationToken).ConfigureAwait(false);
                await HelloAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        if (_options.StartTls == StartTlsPolicy.Required && !IsSecure)
        {
            throw new SmtpClientException($"{_host} does not offer STARTTLS and TLS is required", new SmtpServerReply(530, ["5.7.10 TLS required by policy"]));
        }
        if (_options.Credentials is { } credentials)
        {
            await AuthenticateAsync(credentials, cancellationToken).ConfigureAwait(false);
        }
    }

    // AUTH PLAIN with an initial response (RFC 4954, RFC 4616), LOGIN when PLAIN is not offered.
    private async Task AuthenticateAsync(NetworkCredential credentials, CancellationToken cancellationToken)
    {
        if (!IsSecure && !_options.AllowPlaintextAuth)
        {
            throw new SmtpClientException($"refusing to send credentials to {_host} without TLS", new SmtpServerReply(454, ["4.7.0 TLS needed to authenticate"]));
        }
        var mechanisms = _extensions.Contains("AUTH") ? _authMechanisms : [];
        SmtpServerReply reply;
        if (mechanisms.Contains("PLAIN"))
        {
            var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{credentials.UserName}\0{credentials.Password}"));
            reply = await CommandAsync("AUTH PLAIN " + plain, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
        else if (mechanisms.Contains("LOGIN"))
        {
            reply = await CommandAsync("AUTH LOGIN", _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (reply.Code == 334)
            {
                reply = await CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials.UserName)), _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            }
            if (reply.Code == 334)
            {
                reply = await CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials.Password)), _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            throw new SmtpClientException($"{_host} offers no AUTH mechanism this client can use", new SmtpServerReply(454, ["4.7.0 no usable AUTH mechanism"]));
        }
        if (reply.Code != 235)
        {
            throw new SmtpClientException($"{_host} refused the login: {reply}", reply);
        }
    }

    private async Task HelloAsync(CancellationToken cancellationToken)
    {
        _extensions.Clear();
        _authMechanisms.Clear();
        MaxSize = null;
        var reply = await CommandAsync("EHLO " + _helloName, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess)
        {
            foreach (var line in reply.Lines.Skip(1))
            {
                var parts = line.Split(' ', 2);
                _extensions.Add(parts[0]);
                if (parts[0].Equals("AUTH", StringComparison.OrdinalIgnoreCase) && parts.Length == 2)
                {
                    _authMechanisms.UnionWith(parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
                }
                if (parts[0].Equals("SIZE", StringComparison.OrdinalIgnoreCase) && parts.Length == 2
                    && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size > 0)
                {
                    MaxSize = size;
                }
            }
            return;
        }
        // RFC 5321 §3.2: a server that does not know EHLO gets HELO.
        reply = await CommandAsync("HELO " + _helloName, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess)
        {
            throw new SmtpClientException($"{_host} refused HELO: {reply}", reply);
        }
    }

    private async Task StartTlsAsync(CancellationToken cancellationToken)
    {
        await _input.CompleteAsync().ConfigureAwait(false);
        await _output.CompleteAsync().ConfigureAwait(false);
        var tls = new SslStream(_network, leaveInnerStreamOpen: true);
        // A login goes only to the server it is meant for; without one, opportunistic TLS (RFC 7435) encrypts against
        // passive listeners even when the certificate cannot be checked.
        var validate = _options.ValidateCertificate || _options.Credentials is not null;
        SslPolicyErrors? refused = null;
        var authentication = new SslClientAuthenticationOptions
        {
            TargetHost = _host,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
            {
                if (_options.CertificateValidation is { } decide)
                {
                    return decide(sender, certificate, chain, errors);
                }
                if (!validate || errors == SslPolicyErrors.None || IsTrustedByConfiguration(certificate, chain, errors))
                {
                    return true;
                }
                refused = errors;
                return false;
            },
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.CommandTimeout);
        try
        {
            await tls.AuthenticateAsClientAsync(authentication, timeout.Token).ConfigureAwait(false);
        }
        catch (AuthenticationException ex) when (refused is { } errors)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            var sent = _options.Credentials is not null ? "; no credentials were sent" : "";
            throw new AuthenticationException($"the TLS certificate of {_host} is not trusted ({errors}){sent}", ex);
        }
        _tls = tls;
        (_input, _output) = Pipes(tls);
        _replyReader = default;
    }

    // A chain that did not reach a system root may reach one of the configured certificates; a wrong host name, or no
    // certificate, is not helped by trusting more roots.
    private bool IsTrustedByConfiguration(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null || _options.TrustedCertificates.Count == 0)
        {
            return false;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_options.TrustedCertificates);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.1")); // server authentication
        if (chain is not null)
        {
            // The intermediates the server sent.
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
        }
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        try
        {
            return custom.Build(leaf);
        }
        finally
        {
            if (!ReferenceEquals(leaf, certificate))
            {
                leaf.Dispose();
            }
        }
    }

    private static (PipeReader, PipeWriter) Pipes(Stream stream) =>
        (PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)), PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)));

    /// <summary>
    /// Sends one message. Recipients the server refuses, or all of them when the message itself is refused, come
    /// back with the refusal; a message the server cannot take at all (size, SMTPUTF8, BINARYMIME) is refused
    /// here, without sending it, with the reply a server would give.
    /// </summary>
    public async Task<IReadOnlyList<SmtpRecipientResult>> SendAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(content);
        long? size = content.CanSeek ? content.Length - content.Position : null;
        if ((EnvelopeRefusal(envelope) ?? CannotSend(envelope, size)) is { } refusal)
        {
            return [.. envelope.Recipients.Select(r => new SmtpRecipientResult(r, refusal))];
        }
        // Recipients whose fields are not what their productions allow are refused here and never written.
        var refusals = envelope.Recipients.Select(r => RecipientRefusal(r, envelope.SmtpUtf8)).ToList();
        var recipients = envelope.Recipients.Where((_, i) => refusals[i] is null).ToList();
        if (recipients.Count == 0)
        {
            return [.. envelope.Recipients.Select((r, i) => new SmtpRecipientResult(r, refusals[i]!))];
        }

        var dsn = Supports("DSN");
        var mail = new StringBuilder("MAIL FROM:<").Append(envelope.ReversePath).Append('>');
        if (size is { } known && Supports("SIZE"))
        {
            mail.Append(CultureInfo.InvariantCulture, $" SIZE={known}");
        }
        if (envelope.Body == MessageBodyType.EightBitMime)
        {
            mail.Append(" BODY=8BITMIME");
        }
        else if (envelope.Body == MessageBodyType.BinaryMime)
        {
            mail.Append(" BODY=BINARYMIME");
        }
        if (envelope.SmtpUtf8)
        {
            mail.Append(" SMTPUTF8");
        }
        if (dsn && envelope.Return != DsnReturn.Unspecified)
        {
            mail.Append(envelope.Return == DsnReturn.Full ? " RET=FULL" : " RET=HDRS");
        }
        if (dsn && envelope.EnvelopeId is { } envid)
        {
            mail.Append(" ENVID=").Append(envid);
        }
        var commands = new List<string> { mail.ToString() };
        foreach (var recipient in recipients)
        {
            var rcpt = new StringBuilder("RCPT TO:<").Append(recipient.Address).Append('>');
            if (dsn && NotifyValue(recipient.Notify) is { Length: > 0 } notify)
            {
                rcpt.Append(" NOTIFY=").Append(notify);
            }
            if (dsn && recipient.OriginalRecipient is { } orcpt)
            {
                rcpt.Append(" ORCPT=").Append(orcpt);
            }
            commands.Add(rcpt.ToString());
        }

        // RFC 2920: with PIPELINING the envelope goes in one write and the replies are read in order.
        var replies = new List<SmtpServerReply>(commands.Count);
        if (Supports("PIPELINING"))
        {
            foreach (var command in commands)
            {
                WriteLine(command);
            }
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            foreach (var _ in commands)
            {
                replies.Add(await ReadReplyAsync(_options.CommandTimeout, cancellationToken).ConfigureAwait(false));
            }
        }
        else
        {
            foreach (var command in commands)
            {
                var reply = await CommandAsync(command, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                replies.Add(reply);
                if (replies.Count == 1 && !reply.IsSuccess)
                {
                    break;
                }
            }
        }

        var mailReply = replies[0];
        if (!mailReply.IsSuccess)
        {
            await ResetAsync(cancellationToken).ConfigureAwait(false);
            return InEnvelopeOrder(envelope, refusals, recipients.Select(_ => mailReply).ToList());
        }
        var rcptReplies = replies.Skip(1).ToList();
        if (!rcptReplies.Any(r => r.IsSuccess))
        {
            await ResetAsync(cancellationToken).ConfigureAwait(false);
            return InEnvelopeOrder(envelope, refusals, rcptReplies);
        }

        var dataReply = Supports("CHUNKING") && size is not null
            ? await SendChunkAsync(content, size.Value, cancellationToken).ConfigureAwait(false)
            : await SendDataAsync(content, cancellationToken).ConfigureAwait(false);
        // Accepted recipients share the fate of the message.
        return InEnvelopeOrder(envelope, refusals, [.. rcptReplies.Select(r => r.IsSuccess ? dataReply : r)]);
    }

    // One result per envelope recipient, in its order: the refusal made here, or the next reply about a sent one.
    private static List<SmtpRecipientResult> InEnvelopeOrder(QueueEnvelope envelope, List<SmtpServerReply?> refusals, List<SmtpServerReply> sentReplies)
    {
        var next = 0;
        return [.. envelope.Recipients.Select((r, i) => new SmtpRecipientResult(r, refusals[i] ?? sentReplies[next++]))];
    }

    // The refusal of a whole transaction whose MAIL FROM could not be written as its production allows.
    private static SmtpServerReply? EnvelopeRefusal(QueueEnvelope envelope)
    {
        if (!EnvelopeSyntax.IsReversePath(envelope.ReversePath, envelope.SmtpUtf8))
        {
            return new SmtpServerReply(553, ["5.1.7 the sender address is not a valid RFC 5321 mailbox; not sent"]);
        }
        if (envelope.EnvelopeId is { } envid && !EnvelopeSyntax.IsEnvelopeId(envid))
        {
            return new SmtpServerReply(501, ["5.5.4 the ENVID parameter is not valid xtext; not sent"]);
        }
        return null;
    }

    private static SmtpServerReply? RecipientRefusal(QueueRecipient recipient, bool smtpUtf8)
    {
        if (!EnvelopeSyntax.IsForwardPath(recipient.Address, smtpUtf8))
        {
            return new SmtpServerReply(553, ["5.1.3 the recipient address is not a valid RFC 5321 mailbox; not sent"]);
        }
        if (recipient.OriginalRecipient is { } orcpt && !EnvelopeSyntax.IsOriginalRecipient(orcpt))
        {
            return new SmtpServerReply(501, ["5.5.4 the ORCPT parameter is not a valid addr-type;xtext; not sent"]);
        }
        return null;
    }

    private SmtpServerReply? CannotSend(QueueEnvelope envelope, long? size)
    {
        if (envelope.SmtpUtf8 && !Supports("SMTPUTF8"))
        {
            return new SmtpServerReply(553, [$"5.6.7 {_host} does not support SMTPUTF8, which this message needs"]);
        }
        // RFC 6152 §3: 8-bit content goes only to a server that announced 8BITMIME (we do not downgrade it).
        if (envelope.Body == MessageBodyType.EightBitMime && !Supports("8BITMIME"))
        {
            return new SmtpServerReply(554, [$"5.6.3 {_host} does not accept 8-bit content (no 8BITMIME)"]);
        }
        if (envelope.Body == MessageBodyType.BinaryMime && !(Supports("BINARYMIME") && Supports("CHUNKING") && size is not null))
        {
            return new SmtpServerReply(554, [$"5.6.3 {_host} does not accept binary content"]);
        }
        if (size is { } known && MaxSize is { } max && known > max)
        {
            return new SmtpServerReply(552, [$"5.3.4 message of {known} octets exceeds {_host}'s limit of {max}"]);
        }
        return null;
    }

    private static string NotifyValue(DsnNotify notify) =>
        notify.HasFlag(DsnNotify.Never) ? "NEVER"
            : string.Join(',', new[] { (DsnNotify.Success, "SUCCESS"), (DsnNotify.Failure, "FAILURE"), (DsnNotify.Delay, "DELAY") }
                .Where(p => notify.HasFlag(p.Item1)).Select(p => p.Item2));

    private async Task<SmtpServerReply> SendDataAsync(Stream content, CancellationToken cancellationToken)
    {
        var start = await CommandAsync("DATA", _options.DataInitiationTimeout, cancellationToken).ConfigureAwait(false);
        if (start.Code != 354)
        {
            return start;
        }
        // Line endings made CRLF and dots stuffed, so the next hop sees no early end of data (SMTP smuggling).
        var stuffer = new DataStuffer();
        await CopyAsync(content, (chunk, writer) => stuffer.Write(chunk, writer), cancellationToken).ConfigureAwait(false);
        stuffer.Finish(_output);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await ReadReplyAsync(_options.DataTerminationTimeout, cancellationToken).ConfigureAwait(false);
    }

    // RFC 3030: the whole message as one BDAT ... LAST chunk; no dot-stuffing.
    private async Task<SmtpServerReply> SendChunkAsync(Stream content, long size, CancellationToken cancellationToken)
    {
        WriteLine(string.Create(CultureInfo.InvariantCulture, $"BDAT {size} LAST"));
        await CopyAsync(content, static (chunk, writer) => writer.Write(chunk), cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await ReadReplyAsync(_options.DataTerminationTimeout, cancellationToken).ConfigureAwait(false);
    }

    private delegate void ChunkWriter(ReadOnlySpan<byte> chunk, IBufferWriter<byte> writer);

    private async Task CopyAsync(Stream content, ChunkWriter write, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(32 * 1024);
        try
        {
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                write(buffer.AsSpan(0, read), _output);
                if (_output.UnflushedBytes > 64 * 1024)
                {
                    await FlushAsync(cancellationToken, _options.DataBlockTimeout).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task ResetAsync(CancellationToken cancellationToken) =>
        await CommandAsync("RSET", _options.CommandTimeout, cancellationToken).ConfigureAwait(false);

    /// <summary>Says QUIT and waits for the reply (errors are ignored: the message work is done).</summary>
    public async Task QuitAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await CommandAsync("QUIT", _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SmtpClientException or OperationCanceledException)
        {
        }
    }

    private async Task<SmtpServerReply> CommandAsync(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        WriteLine(command);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await ReadReplyAsync(timeout, cancellationToken).ConfigureAwait(false);
    }

    private void WriteLine(string line)
    {
        var bytes = Encoding.UTF8.GetByteCount(line);
        var span = _output.GetSpan(bytes + 2);
        Encoding.UTF8.GetBytes(line, span);
        span[bytes] = (byte)'\r';
        span[bytes + 1] = (byte)'\n';
        _output.Advance(bytes + 2);
    }

    private async Task FlushAsync(CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? _options.CommandTimeout);
        await _output.FlushAsync(deadline.Token).ConfigureAwait(false);
    }

    // Reads a possibly multi-line reply ("250-..." lines then "250 ..."), bounded in length and count (SmtpReplyReader).
    private async Task<SmtpServerReply> ReadReplyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var result = await _input.ReadAsync(deadline.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (_replyReader.TryRead(ref reader, _host, out var reply))
            {
                _input.AdvanceTo(reader.Position);
                return reply;
            }
            _input.AdvanceTo(reader.Position, buffer.End);
            if (result.IsCompleted)
            {
                throw new SmtpClientException($"{_host} closed the connection");
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
        if (_tls is not null)
        {
            await _tls.DisposeAsync().ConfigureAwait(false);
        }
        await _network.DisposeAsync().ConfigureAwait(false);
    }
}
