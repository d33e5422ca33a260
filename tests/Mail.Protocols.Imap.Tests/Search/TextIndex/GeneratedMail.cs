using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Search.TextIndex;

/// <summary>
/// Random messages for the word index's differential tests: charsets, base64 and quoted-printable, multiparts, embedded
/// messages, encoded words, non-ASCII and case pairs that fold oddly, long words, bodies longer than a scan chunk; and needles
/// taken from the text that went in (substrings of words, runs across separators, case changed) or not in it at all.
/// </summary>
internal sealed class GeneratedMail
{
    private static readonly string[] s_vocabulary =
    [
        "zephyr", "Zephyrs", "kestrel", "straße", "STRASSE", "Grüße", "grüsse", "München", "naïve", "café", "CAFÉ",
        "Привет", "мир", "МИР", "Ωμέγα", "σοφία", "ΣΟΦΊΑ", "日本語", "テキスト", "😀smile", "x😀y", "ıstanbul", "İstanbul",
        "ſpecial", "K\u212Aelvin", "x", "ab", "abc", "a1b2", "don't", "e-mail", "foo_bar", "über-cool", "Ǆemal", "ǅemal",
        "ǆemal", "ﬁne", "\u0345iota", "ΙΟΤΑ", "ⓐⓑ", "ⒶⒷ", "Ⅻ", "ⅻ", "ĳssel", "ĲSSEL", "æble", "ÆBLE", "çà", "señor", "SEÑOR",
        "1234", "3.14", "noon", "library", "tomorrow", "meeting", "Meeting", "server", "room", "today",
    ];

    private static readonly string[] s_separators = [" ", " ", " ", "  ", ", ", ".\r\n", "-", "\t", "/", "\u00a0", "—", "!", "\r\n\r\n", "=", "?", "_"];

    private static readonly string[] s_charsets = ["utf-8", "utf-8", "iso-8859-1", "koi8-r", "windows-1252", "iso-8859-7", "shift_jis"];

    private readonly Random _random;
    private readonly List<string> _sources = [];

    static GeneratedMail() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    public GeneratedMail(int seed) => _random = new Random(seed);

    /// <summary>Every text that went into a message (bodies, header values), to take needles from.</summary>
    public IReadOnlyList<string> Sources => _sources;

    public byte[] Message()
    {
        var mail = new StringBuilder();
        var subject = Words(3, 8);
        mail.Append("From: ").Append(EncodedWord(Words(1, 3))).Append(" <sender").Append(_random.Next(100)).Append("@example.org>\r\n");
        mail.Append("To: someone@example.net\r\n");
        mail.Append("Subject: ").Append(_random.Next(3) == 0 ? subject.Replace("\r\n", " ", StringComparison.Ordinal) : EncodedWord(subject)).Append("\r\n");
        mail.Append("X-Words: ").Append(Words(2, 6).Replace("\r\n", " ", StringComparison.Ordinal)).Append("\r\n");
        mail.Append("MIME-Version: 1.0\r\n");
        switch (_random.Next(6))
        {
            case 0:
                TextPart(mail, large: false);
                break;
            case 1:
                TextPart(mail, large: true);
                break;
            case 2:
                mail.Append("Content-Type: multipart/alternative; boundary=\"alt-b\"\r\n\r\npreamble zephyr\r\n--alt-b\r\n");
                TextPart(mail, large: false);
                mail.Append("\r\n--alt-b\r\n");
                TextPart(mail, large: false, subtype: "html");
                mail.Append("\r\n--alt-b--\r\nepilogue kestrel\r\n");
                break;
            case 3:
                mail.Append("Content-Type: multipart/mixed; boundary=\"mix-b\"\r\n\r\n--mix-b\r\n");
                TextPart(mail, large: false);
                mail.Append("\r\n--mix-b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n");
                mail.Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(Words(5, 20)), Base64FormattingOptions.InsertLineBreaks));
                mail.Append("\r\n--mix-b\r\nContent-Description: ").Append(EncodedWord(Words(1, 4))).Append("\r\n");
                TextPart(mail, large: _random.Next(4) == 0);
                mail.Append("\r\n--mix-b--\r\n");
                break;
            case 4:
                mail.Append("Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\n");
                TextPart(mail, large: false);
                mail.Append("\r\n--outer\r\nContent-Type: message/rfc822\r\n\r\n");
                mail.Append("Subject: ").Append(EncodedWord(Words(2, 5))).Append("\r\nFrom: inner@example.org\r\n");
                TextPart(mail, large: false);
                mail.Append("\r\n--outer--\r\n");
                break;
            default:
                // A part without charset, 8-bit UTF-8 as it is.
                var text = Words(10, 60);
                _sources.Add(text);
                mail.Append("Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").Append(text).Append("\r\n");
                break;
        }
        return Encoding.UTF8.GetBytes(mail.ToString());
    }

    /// <summary>A needle: from the sources mostly, sometimes changed in case, sometimes of separators only or in no message.</summary>
    public string Needle()
    {
        switch (_random.Next(12))
        {
            case 0:
                return s_vocabulary[_random.Next(s_vocabulary.Length)];
            case 1:
                string[] odd = ["qqqzzz", " ", "-", ", ", "\r\n", "zephyr came", "e-mail", "don't", "😀", "ß", "SS", "K", "ſ", "ı", "i"];
                return odd[_random.Next(odd.Length)];
            default:
                var source = _sources[_random.Next(_sources.Count)];
                if (source.Length == 0)
                {
                    return "x";
                }
                var start = _random.Next(source.Length);
                var length = 1 + _random.Next(Math.Min(_random.Next(8) == 0 ? 80 : 14, source.Length - start));
                var needle = source.Substring(start, length);
                if (char.IsLowSurrogate(needle[0]) || char.IsHighSurrogate(needle[^1]))
                {
                    return "zephyr";
                }
                return _random.Next(3) switch
                {
                    0 => needle.ToUpperInvariant(),
                    1 => needle.ToLowerInvariant(),
                    _ => needle,
                };
        }
    }

    private void TextPart(StringBuilder mail, bool large, string subtype = "plain")
    {
        var text = large ? LargeText() : Words(5, 80);
        _sources.Add(text);
        var charset = s_charsets[_random.Next(s_charsets.Length)];
        var bytes = Encoding.GetEncoding(charset, EncoderFallback.ReplacementFallback, DecoderFallback.ReplacementFallback).GetBytes(text);
        var transfer = _random.Next(3);
        mail.Append("Content-Type: text/").Append(subtype).Append("; charset=").Append(charset).Append("\r\n");
        switch (transfer)
        {
            case 0:
                mail.Append("Content-Transfer-Encoding: base64\r\n\r\n").Append(Convert.ToBase64String(bytes, Base64FormattingOptions.InsertLineBreaks)).Append("\r\n");
                break;
            case 1:
                mail.Append("Content-Transfer-Encoding: quoted-printable\r\n\r\n").Append(QuotedPrintable(bytes)).Append("\r\n");
                break;
            default:
                // 8-bit as it is: the message is built as UTF-8, so only a UTF-8 part keeps its bytes; others are made QP.
                if (charset == "utf-8")
                {
                    mail.Append("Content-Transfer-Encoding: 8bit\r\n\r\n").Append(text).Append("\r\n");
                }
                else
                {
                    mail.Append("Content-Transfer-Encoding: quoted-printable\r\n\r\n").Append(QuotedPrintable(bytes)).Append("\r\n");
                }
                break;
        }
    }

    // Longer than a chunk of the scan (16 KiB), so that words straddle the chunks' borders, wherever they fall.
    private string LargeText()
    {
        var text = new StringBuilder();
        var target = 17_000 + _random.Next(30_000);
        while (text.Length < target)
        {
            text.Append(Words(20, 40)).Append(' ');
        }
        return text.ToString();
    }

    private string Words(int min, int max)
    {
        var text = new StringBuilder();
        var count = min + _random.Next(max - min + 1);
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                text.Append(s_separators[_random.Next(s_separators.Length)]);
            }
            text.Append(_random.Next(10) switch
            {
                0 => RandomWord(2, 10),
                1 when _random.Next(8) == 0 => RandomWord(60, 150), // longer than the index keeps
                _ => s_vocabulary[_random.Next(s_vocabulary.Length)],
            });
        }
        return text.ToString();
    }

    private string RandomWord(int min, int max)
    {
        const string letters = "abcdefghijklmnopqrstuvwxyzäöüßéèøåABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789жщыЖЩЫ";
        var length = min + _random.Next(max - min + 1);
        var word = new char[length];
        for (var i = 0; i < length; i++)
        {
            word[i] = letters[_random.Next(letters.Length)];
        }
        return new string(word);
    }

    private string EncodedWord(string text)
    {
        text = text.Replace("\r\n", " ", StringComparison.Ordinal);
        _sources.Add(text);
        if (_random.Next(2) == 0)
        {
            return $"=?UTF-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes(text))}?=";
        }
        var q = new StringBuilder("=?UTF-8?Q?");
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            q.Append(b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') ? ((char)b).ToString() : $"={b:X2}");
        }
        return q.Append("?=").ToString();
    }

    private static string QuotedPrintable(byte[] bytes)
    {
        var qp = new StringBuilder();
        var line = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (b == '\r' && i + 1 < bytes.Length && bytes[i + 1] == '\n')
            {
                qp.Append("\r\n");
                line = 0;
                i++;
                continue;
            }
            var piece = b is >= 33 and <= 126 and not (byte)'=' ? ((char)b).ToString() : $"={b:X2}";
            if (line + piece.Length > 73)
            {
                qp.Append("=\r\n"); // a soft line break, anywhere in a word
                line = 0;
            }
            qp.Append(piece);
            line += piece.Length;
        }
        return qp.ToString();
    }
}

/// <summary>What reading the header says (the evaluator's path before the word index): HEADER field string in one message.</summary>
internal static class HeaderReference
{
    public static async Task<bool> MatchAsync(IMailboxStore store, string user, string folder, uint uid, string field, string needle)
    {
        var summary = await store.GetSummaryAsync(user, folder, uid);
        await using var content = await store.OpenContentAsync(user, folder, uid);
        foreach (var header in await Mail.Protocols.Imap.Search.SearchText.ReadHeaderAsync(content, 0, summary.BodyOffset, default))
        {
            if (header.Field.Equals(field, StringComparison.OrdinalIgnoreCase)
                && (needle.Length == 0 || Mail.Protocols.Imap.Search.SearchText.Contains(Mail.Protocols.Imap.Search.SearchText.DecodedValue(header), needle)))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>What the scan alone says (the evaluator's path before the word index): BODY and TEXT of one needle in one message.</summary>
internal static class ScanReference
{
    public static async Task<(bool Body, bool Text)> MatchAsync(IMailboxStore store, string user, string folder, uint uid, string needle)
    {
        if (needle.Length == 0)
        {
            return (true, true);
        }
        var summary = await store.GetSummaryAsync(user, folder, uid);
        await using var content = await store.OpenContentAsync(user, folder, uid);
        var found = new bool[1];
        await Mail.Protocols.Imap.Search.SearchText.ScanBodyAsync(content, summary.Body, [needle], found, default);
        if (found[0])
        {
            return (true, true);
        }
        var part = new bool[1];
        await Mail.Protocols.Imap.Search.SearchText.ScanPartHeadersAsync(content, summary.Body, [needle], [true], part, default);
        if (part[0])
        {
            return (false, true);
        }
        var header = Mail.Protocols.Imap.Search.SearchText.HeaderText(
            await Mail.Protocols.Imap.Search.SearchText.ReadHeaderAsync(content, 0, summary.BodyOffset, default));
        return (false, Mail.Protocols.Imap.Search.SearchText.Contains(header, needle));
    }
}
