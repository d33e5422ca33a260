using System.Text;

namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// IMAP's modified UTF-7 (RFC 3501 §5.1.3), the encoding Dovecot and Courier use for non-ASCII folder names
/// on disk: printable ASCII stands for itself ("&amp;" as "&amp;-"), anything else is UTF-16BE in base64
/// with ',' for '/', between '&amp;' and '-'.
/// </summary>
internal static class ModifiedUtf7
{
    public static string Encode(string text)
    {
        var output = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length;)
        {
            var c = text[i];
            if (c is >= ' ' and <= '~')
            {
                output.Append(c == '&' ? "&-" : c);
                i++;
                continue;
            }
            var start = i;
            while (i < text.Length && text[i] is < ' ' or > '~')
            {
                i++;
            }
            var bytes = Encoding.BigEndianUnicode.GetBytes(text, start, i - start);
            output.Append('&').Append(Convert.ToBase64String(bytes).TrimEnd('=').Replace('/', ',')).Append('-');
        }
        return output.ToString();
    }

    /// <summary>Decodes a name; null when it is not valid modified UTF-7.</summary>
    public static string? Decode(string text)
    {
        var output = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '&')
            {
                if (c is < ' ' or > '~')
                {
                    return null;
                }
                output.Append(c);
                continue;
            }
            var end = text.IndexOf('-', i + 1);
            if (end < 0)
            {
                return null;
            }
            if (end == i + 1)
            {
                output.Append('&');
                i = end;
                continue;
            }
            var base64 = text[(i + 1)..end].Replace(',', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            try
            {
                var bytes = Convert.FromBase64String(base64);
                if (bytes.Length % 2 != 0)
                {
                    return null;
                }
                output.Append(Encoding.BigEndianUnicode.GetString(bytes));
            }
            catch (FormatException)
            {
                return null;
            }
            i = end;
        }
        return output.ToString();
    }
}
