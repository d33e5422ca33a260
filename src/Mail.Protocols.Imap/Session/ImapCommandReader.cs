using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Session;

/// <summary>What <see cref="ImapCommandReader.ReadAsync"/> read.</summary>
internal enum CommandReadOutcome
{
    /// <summary>A whole command is in <see cref="ImapCommandReader.Command"/>.</summary>
    Command,
    /// <summary>
    /// An APPEND's arguments are in <see cref="ImapCommandReader.Command"/> up to the message's literal header, whose
    /// octets are still on the wire (<see cref="ImapCommandReader.PendingLiteral"/>): the session streams them itself.
    /// </summary>
    AppendMessage,
    /// <summary>The command broke a limit; <see cref="ImapCommandReader.Refusal"/> says which and the tag is known when the first line was read.</summary>
    Refused,
    /// <summary>The command broke a limit in a way that leaves the stream out of step (a non-synchronising literal refused): answer, then close.</summary>
    RefusedFatal,
    /// <summary>A line over the limit was dropped before its tag was known.</summary>
    LineTooLong,
    /// <summary>The client closed the connection.</summary>
    Closed,
    /// <summary>A deadline passed.</summary>
    TimedOut,
    /// <summary>The server is shutting down (only between commands).</summary>
    ShutdownRequested,
}

/// <summary>
/// Assembles one IMAP command from the connection: its first line, and for each literal announced at a line's end
/// (<c>{n}</c>, <c>{n+}</c>, <c>~{n}</c>), the go-ahead for a synchronising one, the n octets and the line after
/// them, into one buffer as the parser reads it (literals inline, no final CRLF). Every piece is charged to the
/// command's budget before it is accepted, so a command never holds more than
/// <see cref="ImapServerOptions.MaxCommandSize"/> octets; an APPEND's message is not read here.
/// </summary>
internal sealed class ImapCommandReader
{
    private const int InitialCapacity = 256;
    private readonly SessionIO _io;
    private readonly ImapServerOptions _options;
    private readonly CommandBudget _budget;
    private byte[] _buffer = [];
    private int _length;
    private LiteralReadOptions? _literalOptions;

    public ImapCommandReader(SessionIO io, ImapServerOptions options)
    {
        _io = io;
        _options = options;
        _budget = new CommandBudget(options.MaxCommandSize, options.MaxLiterals);
    }

    /// <summary>The command read (its first line onwards, literals inline, no final CRLF).</summary>
    public ReadOnlySpan<byte> Command => _buffer.AsSpan(0, _length);

    /// <summary>The tag of the command, once its first line was read (empty before, or when the line had none).</summary>
    public ReadOnlySpan<byte> Tag => Command[..TagLength(Command)];

    /// <summary>Why the last command was refused, with <see cref="CommandReadOutcome.Refused"/> or <see cref="CommandReadOutcome.RefusedFatal"/>.</summary>
    public ImapRejectReason Refusal { get; private set; }

    /// <summary>The APPEND message announced, with <see cref="CommandReadOutcome.AppendMessage"/>.</summary>
    public LiteralHeader PendingLiteral { get; private set; }

    /// <summary>
    /// Reads the next command. Between commands <paramref name="idleTimeout"/> and shutdown apply; within a command (the
    /// lines after a literal, the literal's octets) the literal deadline does.
    /// </summary>
    public async ValueTask<CommandReadOutcome> ReadAsync(TimeSpan idleTimeout)
    {
        _budget.Reset();
        _length = 0;
        if (_buffer.Length > _options.MaxLineLength)
        {
            _buffer = []; // a large command's buffer is let go, as SessionIO does with a long line
        }
        var first = true;
        var isAppend = false;
        while (true)
        {
            var outcome = await _io.ReadLineAsync(_options.MaxLineLength, first ? idleTimeout : LiteralOptions.Timeout,
                allowShutdown: first).ConfigureAwait(false);
            switch (outcome)
            {
                case LineReadOutcome.Line:
                    break;
                case LineReadOutcome.TooLong when first:
                    return CommandReadOutcome.LineTooLong;
                case LineReadOutcome.TooLong:
                    Refusal = ImapRejectReason.CommandTooLarge;
                    return CommandReadOutcome.Refused;
                case LineReadOutcome.TimedOut:
                    return CommandReadOutcome.TimedOut;
                case LineReadOutcome.ShutdownRequested:
                    return CommandReadOutcome.ShutdownRequested;
                default:
                    return CommandReadOutcome.Closed;
            }
            var line = _io.Line;
            var literal = TryReadLiteralHeaderAtEnd(line, out var header, out var headerLength);
            if (_budget.ChargeLine(line.Length) != CommandBudgetCheck.Allowed)
            {
                Append(line[..Math.Min(line.Length, 256)]); // enough to keep the tag for the reply
                Refusal = ImapRejectReason.CommandTooLarge;
                return literal && !header.IsSynchronizing ? CommandReadOutcome.RefusedFatal : CommandReadOutcome.Refused;
            }
            if (first)
            {
                isAppend = IsAppend(line);
            }
            // In an APPEND, every literal but a mailbox name that starts the arguments is a message (flags and the
            // date cannot be literals).
            var isAppendMessage = literal && isAppend && (!first || !StartsArguments(line, headerLength));
            Append(line);
            first = false;
            if (!literal)
            {
                return CommandReadOutcome.Command;
            }
            if (isAppendMessage)
            {
                PendingLiteral = header;
                return CommandReadOutcome.AppendMessage;
            }
            var check = _budget.ChargeLiteral(header.Length);
            if (check != CommandBudgetCheck.Allowed)
            {
                Refusal = check == CommandBudgetCheck.TooManyLiterals ? ImapRejectReason.TooManyLiterals : ImapRejectReason.LiteralTooLarge;
                // A synchronising literal was not sent (the client waits for "+"); a non-synchronising one is on its
                // way and the stream can only be put back in step by closing (RFC 7888 §4).
                return header.IsSynchronizing ? CommandReadOutcome.Refused : CommandReadOutcome.RefusedFatal;
            }
            if (header.IsSynchronizing)
            {
                _io.Write(ImapReplies.ContinueLiteral);
                await _io.FlushAsync().ConfigureAwait(false);
            }
            await ReadLiteralAsync(header.Length).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After an APPEND message was streamed: reads the rest of the command (CRLF, or more arguments) onto
    /// <see cref="Command"/>, which then holds only that rest.
    /// </summary>
    public async ValueTask<CommandReadOutcome> ReadRestOfLineAsync()
    {
        _length = 0;
        var outcome = await _io.ReadLineAsync(_options.MaxLineLength, LiteralOptions.Timeout, allowShutdown: false).ConfigureAwait(false);
        switch (outcome)
        {
            case LineReadOutcome.Line:
                Append(_io.Line);
                return CommandReadOutcome.Command;
            case LineReadOutcome.TooLong:
                Refusal = ImapRejectReason.CommandTooLarge;
                return CommandReadOutcome.Refused;
            case LineReadOutcome.TimedOut:
                return CommandReadOutcome.TimedOut;
            default:
                return CommandReadOutcome.Closed;
        }
    }

    /// <summary>
    /// Lets the command's buffer go (<see cref="Command"/> is empty after it), for a command that waits long after its
    /// arguments were parsed (IDLE): an idle session then holds no copy of its last command. The next
    /// <see cref="ReadAsync"/> allocates a new one.
    /// </summary>
    public void ReleaseBuffer()
    {
        _buffer = [];
        _length = 0;
    }

    /// <summary>
    /// The deadline of a literal's octets (3 minutes per wait, and the minimum data rate over the literal) and of the
    /// lines within one command.
    /// </summary>
    public LiteralReadOptions LiteralOptions => _literalOptions ??= _options.DataReadOptions(TimeSpan.FromMinutes(3));

    private async ValueTask ReadLiteralAsync(long length)
    {
        Append("\r\n"u8);
        var literal = _io.BeginLiteral(length, LiteralOptions);
        while (literal.Remaining > 0)
        {
            var piece = await literal.ReadAsync().ConfigureAwait(false);
            foreach (var segment in piece)
            {
                Append(segment.Span);
            }
            literal.Advance(piece.Length);
        }
    }

    // "tag APPEND ..." (the command name in any case).
    private static bool IsAppend(ReadOnlySpan<byte> line)
    {
        var tag = TagLength(line);
        var rest = tag < line.Length ? line[(tag + 1)..] : default;
        return rest.Length >= 7 && Ascii.EqualsIgnoreCase(rest[..6], "APPEND"u8) && rest[6] == (byte)' ';
    }

    // Whether the literal header at the end of an APPEND's first line is all its arguments (the mailbox name).
    private static bool StartsArguments(ReadOnlySpan<byte> line, int headerLength) =>
        line.Length - TagLength(line) - 1 - 7 == headerLength;

    /// <summary>
    /// Whether <paramref name="line"/> ends with a literal header (<c>{n}</c>, <c>{n+}</c>, <c>~{n}</c>, <c>~{n+}</c>;
    /// RFC 9051 literal, RFC 7888 literal+, RFC 3516 literal8), and how many octets the header takes. A number past
    /// number64 is not a header here; the parser then refuses the line.
    /// </summary>
    internal static bool TryReadLiteralHeaderAtEnd(ReadOnlySpan<byte> line, out LiteralHeader header, out int headerLength)
    {
        header = default;
        headerLength = 0;
        if (line.Length < 3 || line[^1] != (byte)'}')
        {
            return false;
        }
        var end = line.Length - 1;
        var synchronizing = true;
        if (line[end - 1] == (byte)'+')
        {
            synchronizing = false;
            end--;
        }
        var open = line[..end].LastIndexOf((byte)'{');
        var digits = open < 0 ? default : line[(open + 1)..end];
        if (digits.IsEmpty || digits.Length > 19 || digits.ContainsAnyExceptInRange((byte)'0', (byte)'9')
            || !long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
        {
            return false;
        }
        var binary = open > 0 && line[open - 1] == (byte)'~';
        header = new LiteralHeader(length, synchronizing, binary);
        headerLength = line.Length - open + (binary ? 1 : 0);
        return true;
    }

    /// <summary>
    /// The tag of a command line, for the reply to a command refused before it was parsed: its leading tag characters,
    /// as the parser reads a tag, so no octet the grammar does not allow there (a CR, LF or NUL) goes back to the client
    /// (empty when there are none: the reply is then untagged).
    /// </summary>
    public static ReadOnlySpan<byte> TagOf(ReadOnlySpan<byte> command)
    {
        var length = 0;
        while (length < command.Length && ImapReader.IsTagChar(command[length]))
        {
            length++;
        }
        return command[..length];
    }

    private static int TagLength(ReadOnlySpan<byte> line)
    {
        var space = line.IndexOf((byte)' ');
        return space < 0 ? line.Length : space;
    }

    private void Append(ReadOnlySpan<byte> octets)
    {
        if (_length + octets.Length > _buffer.Length)
        {
            var grown = new byte[Math.Max(Math.Max(InitialCapacity, _buffer.Length * 2), _length + octets.Length)];
            _buffer.AsSpan(0, _length).CopyTo(grown);
            _buffer = grown;
        }
        octets.CopyTo(_buffer.AsSpan(_length));
        _length += octets.Length;
    }
}
