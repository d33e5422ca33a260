// Commands that send more than one line: a synchronizing literal or a SASL response after the server's "+"
// continuation, or a LITERAL+ literal sent at once (RFC 7888). Also CAPABILITY and APPEND, which the
// AUTHENTICATE, APPEND and resync runs share.

using System.Buffers.Text;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

internal sealed partial class ImapConnection
{
    /// <summary>CAPABILITY: the capability names the server lists now, upper case.</summary>
    public async Task<HashSet<string>> CapabilitiesAsync(CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        await CommandAsync("CAPABILITY", span =>
        {
            if (span.StartsWith("* CAPABILITY "u8))
            {
                foreach (var name in Encoding.ASCII.GetString(span[13..]).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    names.Add(name.ToUpperInvariant());
                }
            }
        }, cancellationToken: cancellationToken);
        return names;
    }

    /// <summary>APPEND of one message (flags \Seen) to a folder; with literalPlus the message goes at once as a
    /// non-synchronizing literal, else after the server's continuation. Returns the text of the tagged OK, from
    /// which the caller reads APPENDUID.</summary>
    public Task<string> AppendAsync(string folder, ReadOnlyMemory<byte> message, bool literalPlus, CancellationToken cancellationToken)
    {
        var head = string.Create(CultureInfo.InvariantCulture,
            $"APPEND \"{folder}\" (\\Seen) {{{message.Length}{(literalPlus ? "+" : "")}}}");
        return ContinuedCommandAsync(head, [message, "\r\n"u8.ToArray()], waitForContinuation: !literalPlus, cancellationToken);
    }

    /// <summary>Sends the command line head, then (after a "+" continuation when waitForContinuation) the parts of
    /// the rest, which end with their own CRLF; reads the responses up to the tagged reply, which must be OK, and
    /// returns its text after the tag. Untagged responses (and their literals) are skipped.</summary>
    public async Task<string> ContinuedCommandAsync(string head, ReadOnlyMemory<byte>[] rest, bool waitForContinuation,
        CancellationToken cancellationToken)
    {
        var tag = string.Create(CultureInfo.InvariantCulture, $"a{++_tag}");
        var tagPrefix = Encoding.ASCII.GetBytes(tag + " ");
        var verb = head.Split(' ')[0];
        await SendAllAsync(Encoding.ASCII.GetBytes($"{tag} {head}\r\n"), cancellationToken);
        if (waitForContinuation)
        {
            while (true)
            {
                var line = await ReadLineAsync(cancellationToken);
                if (line.Span.StartsWith("+"u8))
                {
                    break;
                }
                if (line.Span.StartsWith(tagPrefix))
                {
                    throw new ProtocolException($"{verb}: {Encoding.ASCII.GetString(line.Span)} instead of a continuation");
                }
                await SkipUntaggedAsync(line, verb, cancellationToken);
            }
        }
        foreach (var part in rest)
        {
            await SendAllAsync(part, cancellationToken);
        }
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            var span = line.Span;
            if (span.StartsWith(tagPrefix))
            {
                var text = Encoding.ASCII.GetString(span[tagPrefix.Length..]);
                if (!text.StartsWith("OK", StringComparison.Ordinal))
                {
                    throw new ProtocolException($"{verb}: {tag} {text}");
                }
                return text;
            }
            await SkipUntaggedAsync(line, verb, cancellationToken);
        }
    }

    /// <summary>An untagged response whose first line is given: its literals and continuation lines are read.</summary>
    private async ValueTask SkipUntaggedAsync(ReadOnlyMemory<byte> line, string verb, CancellationToken cancellationToken)
    {
        if (!line.Span.StartsWith("* "u8))
        {
            throw new ProtocolException($"{verb}: unexpected line {Encoding.ASCII.GetString(line.Span[..Math.Min(line.Length, 200)])}");
        }
        while (LiteralLength(line.Span) is { } length)
        {
            await ReadLiteralAsync(length, null, cancellationToken);
            line = await ReadLineAsync(cancellationToken);
        }
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        for (var sent = 0; sent < data.Length;)
        {
            sent += await _socket.SendAsync(data[sent..], SocketFlags.None, cancellationToken);
        }
    }

    /// <summary>The two numbers of "[APPENDUID uidvalidity uid]" in a tagged OK (RFC 4315), or null.</summary>
    public static (long UidValidity, long Uid)? AppendUid(string taggedText)
    {
        var at = taggedText.IndexOf("[APPENDUID ", StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            return null;
        }
        var words = taggedText[(at + 11)..].Split(' ', ']');
        return words.Length >= 2
            && long.TryParse(words[0], NumberStyles.None, CultureInfo.InvariantCulture, out var validity)
            && long.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
            ? (validity, uid)
            : throw new ProtocolException($"bad APPENDUID in {taggedText}");
    }

    /// <summary>The number after NAME in a response line (the line must have it).</summary>
    public static long Number(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name)
    {
        var at = line.IndexOf(name);
        if (at < 0 || !Utf8Parser.TryParse(line[(at + name.Length)..], out long value, out _))
        {
            throw new ProtocolException($"no {Encoding.ASCII.GetString(name).Trim(' ', '(')} in {Encoding.ASCII.GetString(line[..Math.Min(line.Length, 200)])}");
        }
        return value;
    }
}
