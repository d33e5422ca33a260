using System.Text;
using Mail.Protocols.Smtp.Protocol;

namespace Mail.Protocols.Smtp.Client;

/// <summary>
/// What the client may write into a command: each envelope field checked against its RFC 5321 (and RFC 3461,
/// RFC 6531) production before anything goes on the wire, so that no value can end a command line early or add a
/// parameter. Uses the server's parsers, so the client sends exactly what our own server would accept.
/// </summary>
internal static class EnvelopeSyntax
{
    private const int MaxEnvelopeId = 100;        // RFC 3461 §4.4
    private const int MaxOriginalRecipient = 500; // as the server accepts it

    private static readonly UTF8Encoding s_strictUtf8 = new(false, true);

    /// <summary>Reverse-path: the null path (empty) or a Mailbox.</summary>
    public static bool IsReversePath(string address, bool smtpUtf8) => address.Length == 0 || IsMailbox(address, smtpUtf8);

    /// <summary>Forward-path: a Mailbox, or the bare "Postmaster" RFC 5321 §4.1.1.3 allows.</summary>
    public static bool IsForwardPath(string address, bool smtpUtf8) =>
        address.Equals("Postmaster", StringComparison.OrdinalIgnoreCase) || IsMailbox(address, smtpUtf8);

    /// <summary>Mailbox = Local-part "@" ( Domain / address-literal ), within the RFC 5321 §4.5.3.1 lengths.</summary>
    public static bool IsMailbox(string address, bool smtpUtf8)
    {
        if (address.Length == 0 || HasControl(address) || Encode(address) is not { } bytes)
        {
            return false;
        }
        var at = address.LastIndexOf('@');
        if (at >= 0 && address.AsSpan(at + 1).StartsWith("[", StringComparison.Ordinal) && !IsLiteralText(address.AsSpan(at + 1)))
        {
            return false;
        }
        return SmtpSyntax.TryParseMailbox(bytes, smtpUtf8) == SmtpPathStatus.Ok;
    }

    /// <summary>The argument of EHLO/HELO: an ASCII Domain or an address-literal.</summary>
    public static bool IsHelloName(string name)
    {
        if (name.Length == 0 || name.Length > SmtpSyntax.MaxDomain || HasControl(name) || !Ascii.IsValid(name))
        {
            return false;
        }
        var bytes = Encoding.ASCII.GetBytes(name);
        if (name[0] == '[')
        {
            return IsLiteralText(name) && SmtpSyntax.IsAddressLiteral(bytes);
        }
        var utf8Seen = false;
        return SmtpSyntax.IsDomain(bytes, allowUtf8: false, ref utf8Seen);
    }

    /// <summary>ENVID: xtext of at most 100 characters.</summary>
    public static bool IsEnvelopeId(string value) =>
        value.Length is > 0 and <= MaxEnvelopeId && Ascii.IsValid(value) && SmtpSyntax.IsXtext(Encoding.ASCII.GetBytes(value));

    /// <summary>ORCPT: addr-type ";" xtext, addr-type an atom (RFC 3461 §4.2) without '=', which no esmtp-value may hold.</summary>
    public static bool IsOriginalRecipient(string value)
    {
        var semicolon = value.IndexOf(';', StringComparison.Ordinal);
        if (semicolon <= 0 || value.Length > MaxOriginalRecipient || !Ascii.IsValid(value))
        {
            return false;
        }
        foreach (var c in value.AsSpan(0, semicolon))
        {
            if (!IsAtext(c))
            {
                return false;
            }
        }
        return SmtpSyntax.IsXtext(Encoding.ASCII.GetBytes(value[(semicolon + 1)..]));
    }

    /// <summary>Whether a SASL PLAIN field can carry the value (RFC 4616: any UTF-8 but NUL).</summary>
    public static bool IsSaslValue(string? value) => value is not null && !value.Contains('\0', StringComparison.Ordinal) && Encode(value) is not null;

    // Control characters end or split a command line however the rest parses.
    private static bool HasControl(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }
        return false;
    }

    // "[" 1*dcontent "]": printable ASCII but the brackets and backslash (RFC 5321 §4.1.3).
    private static bool IsLiteralText(ReadOnlySpan<char> literal)
    {
        if (literal.Length < 3 || literal[0] != '[' || literal[^1] != ']')
        {
            return false;
        }
        foreach (var c in literal[1..^1])
        {
            if (c is < '!' or > '~' or '[' or '\\' or ']')
            {
                return false;
            }
        }
        return true;
    }

    // atext but '=' (RFC 5321 esmtp-value excludes it).
    private static bool IsAtext(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-/?^_`{|}~".Contains(c, StringComparison.Ordinal);

    private static byte[]? Encode(string value)
    {
        try
        {
            return s_strictUtf8.GetBytes(value);
        }
        catch (EncoderFallbackException)
        {
            return null;
        }
    }
}
