using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Mail.Protocols.Text;

namespace Mail.Protocols.Smtp.Client;

/// <summary>
/// Assembles the server's replies (RFC 5321 §4.2) from what the connection gave so far, bounded: a line of at most
/// <see cref="MaxLineLength"/> octets, a reply of at most <see cref="MaxLines"/> lines. Every line starts with the same
/// three-digit code from 200 to 599 (§4.2.1: "the reply code on each of the lines MUST be the same"); a hyphen after it
/// means more lines follow, anything else (a space, nothing, or what a sloppy server sends) ends the reply, as Postfix
/// reads it. Anything else is a malformed reply (<see cref="SmtpClientException"/>), after which the connection is of no
/// further use. Text is decoded as UTF-8, an invalid sequence becoming <c>?</c>, so that the text is never longer in
/// UTF-8 than the octets received (U+FFFD, three octets, would let a line of invalid octets triple past the limit: found
/// by the SmtpClientReply fuzz target).
/// </summary>
internal struct SmtpReplyReader
{
    /// <summary>The longest reply line taken, without its line break (RFC 5321 §4.5.3.1.5 asks 512 of the server; some say more).</summary>
    public const int MaxLineLength = 4096;

    /// <summary>The most lines a reply may have (an EHLO reply has one per extension: some twenty).</summary>
    public const int MaxLines = 200;

    private static readonly Encoding s_text = Encoding.GetEncoding("utf-8", EncoderFallback.ReplacementFallback, new DecoderReplacementFallback("?"));

    private LineReader _lineReader;
    private List<string>? _lines;
    private int _code;

    /// <summary>
    /// Reads lines from <paramref name="reader"/> until a reply is complete (true, the reader past its last line) or the
    /// input runs out (false: the lines read so far are kept; call again with the rest, starting at the reader's position).
    /// </summary>
    /// <exception cref="SmtpClientException">A line is too long, has no reply code, another code than the lines before it, or one line too many.</exception>
    public bool TryRead(ref SequenceReader<byte> reader, string host, [NotNullWhen(true)] out SmtpServerReply? reply)
    {
        reply = null;
        while (true)
        {
            var status = _lineReader.TryReadLine(ref reader, MaxLineLength, out var line);
            if (status == LineReadStatus.NeedMoreData)
            {
                return false;
            }
            _lines ??= [];
            if (status == LineReadStatus.TooLong || _lines.Count >= MaxLines || !TryCode(line, out var code) || (_lines.Count > 0 && code != _code))
            {
                throw new SmtpClientException($"{host} sent a malformed reply");
            }
            _code = code;
            // The separator and the text by octets, not by decoded characters: a fourth octet that starts a multi-octet
            // character (it should be SP or '-') would otherwise be cut in two, leaving half a surrogate pair in the text
            // (found by fuzzing).
            var separator = line.Length > 3 ? line.Slice(3, 1).FirstSpan[0] : (byte)' ';
            _lines.Add(line.Length > 4 ? s_text.GetString(line.Slice(4)) : "");
            if (separator != (byte)'-')
            {
                reply = new SmtpServerReply(code, _lines);
                _lines = null;
                return true;
            }
        }
    }

    // Three ASCII digits, 200 to 599.
    private static bool TryCode(in ReadOnlySequence<byte> line, out int code)
    {
        code = 0;
        if (line.Length < 3)
        {
            return false;
        }
        Span<byte> digits = stackalloc byte[3];
        line.Slice(0, 3).CopyTo(digits);
        foreach (var digit in digits)
        {
            if (digit is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
            code = code * 10 + digit - '0';
        }
        return code is >= 200 and <= 599;
    }
}
