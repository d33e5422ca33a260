using System.Text;

namespace Mail.Protocols.Smtp.Protocol;

/// <summary>
/// Parsers for the RFC 5321 §4.1.2 productions a server needs: Path, Mailbox, Local-part, Domain,
/// address-literal and esmtp-param, with RFC 6531's UTF-8 extensions when SMTPUTF8 is in effect.
/// Each works on a span and reports how much it consumed; none allocates except for the final address.
/// </summary>
internal static class SmtpSyntax
{
    public const int MaxLocalPart = 64;     // RFC 5321 §4.5.3.1.1
    public const int MaxDomain = 255;       // RFC 5321 §4.5.3.1.2
    public const int MaxPath = 256;         // RFC 5321 §4.5.3.1.3, including the angle brackets

    private static readonly UTF8Encoding s_strictUtf8 = new(false, true);

    // atext (RFC 5322 §3.2.3)
    private static bool IsAtext(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
        || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'/' or (byte)'=' or (byte)'?' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'{'
            or (byte)'|' or (byte)'}' or (byte)'~';

    private static bool IsLetDig(byte b) => b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9';

    /// <summary>
    /// Parses <c>"FROM:" Reverse-path</c> or <c>"TO:" Forward-path</c> (the keyword is given), allowing one space
    /// after the colon as many clients send. Returns the address ("" for &lt;&gt;, "Postmaster" for TO:'s bare
    /// &lt;Postmaster&gt;) and the parameter text after it.
    /// </summary>
    public static SmtpPathStatus TryParsePathArgument(ReadOnlySpan<byte> arguments, ReadOnlySpan<byte> keyword, bool allowNull, bool allowUtf8,
        out string address, out ReadOnlySpan<byte> parameters)
    {
        address = "";
        parameters = default;
        if (arguments.Length < keyword.Length || !Ascii.EqualsIgnoreCase(arguments[..keyword.Length], keyword))
        {
            return SmtpPathStatus.Syntax;
        }
        var rest = arguments[keyword.Length..];
        if (!rest.IsEmpty && rest[0] == (byte)' ')
        {
            rest = rest[1..];
        }
        if (rest.IsEmpty || rest[0] != (byte)'<')
        {
            return SmtpPathStatus.Syntax;
        }
        var close = FindPathEnd(rest);
        if (close < 0)
        {
            return SmtpPathStatus.Syntax;
        }
        var path = rest[1..close];
        parameters = rest[(close + 1)..];
        if (!parameters.IsEmpty)
        {
            if (parameters[0] != (byte)' ')
            {
                return SmtpPathStatus.Syntax;
            }
            parameters = parameters.TrimStart((byte)' ');
        }
        if (close + 1 > MaxPath)
        {
            return SmtpPathStatus.TooLong;
        }
        if (path.IsEmpty)
        {
            return allowNull ? SmtpPathStatus.Ok : SmtpPathStatus.BadAddress;
        }
        // RFC 5321 §4.1.1.3: RCPT's forward path may be the bare "<Postmaster>" (any case, no source route), which every
        // server must accept (§4.5.1); no other address goes without a domain.
        if (Ascii.EqualsIgnoreCase(keyword, "TO:"u8) && Ascii.EqualsIgnoreCase(path, "Postmaster"u8))
        {
            address = "Postmaster";
            return SmtpPathStatus.Ok;
        }
        // A-d-l (source route): accepted and ignored, RFC 5321 §4.1.1.3 and appendix C.
        if (path[0] == (byte)'@')
        {
            var colon = path.IndexOf((byte)':');
            if (colon < 0)
            {
                return SmtpPathStatus.BadAddress;
            }
            path = path[(colon + 1)..];
        }
        var status = TryParseMailbox(path, allowUtf8);
        if (status != SmtpPathStatus.Ok)
        {
            return status;
        }
        try
        {
            address = s_strictUtf8.GetString(path);
        }
        catch (DecoderFallbackException)
        {
            return SmtpPathStatus.BadAddress;
        }
        return SmtpPathStatus.Ok;
    }

    // The closing '>' of a path, skipping quoted strings in the local part.
    private static int FindPathEnd(ReadOnlySpan<byte> text)
    {
        var quoted = false;
        for (var i = 1; i < text.Length; i++)
        {
            var b = text[i];
            if (quoted)
            {
                if (b == (byte)'\\')
                {
                    i++;
                }
                else if (b == (byte)'"')
                {
                    quoted = false;
                }
            }
            else if (b == (byte)'"')
            {
                quoted = true;
            }
            else if (b == (byte)'>')
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Mailbox = Local-part "@" ( Domain / address-literal ).</summary>
    public static SmtpPathStatus TryParseMailbox(ReadOnlySpan<byte> mailbox, bool allowUtf8)
    {
        var at = mailbox.LastIndexOf((byte)'@');
        if (at <= 0 || at == mailbox.Length - 1)
        {
            return SmtpPathStatus.BadAddress;
        }
        var local = mailbox[..at];
        var domain = mailbox[(at + 1)..];
        if (local.Length > MaxLocalPart || domain.Length > MaxDomain)
        {
            return SmtpPathStatus.TooLong;
        }
        var utf8Seen = false;
        if (!IsLocalPart(local, allowUtf8, ref utf8Seen))
        {
            return utf8Seen && !allowUtf8 ? SmtpPathStatus.NeedsSmtpUtf8 : SmtpPathStatus.BadAddress;
        }
        if (domain[0] == (byte)'[')
        {
            return IsAddressLiteral(domain) ? SmtpPathStatus.Ok : SmtpPathStatus.BadAddress;
        }
        if (!IsDomain(domain, allowUtf8, ref utf8Seen))
        {
            return utf8Seen && !allowUtf8 ? SmtpPathStatus.NeedsSmtpUtf8 : SmtpPathStatus.BadAddress;
        }
        return SmtpPathStatus.Ok;
    }

    private static bool IsLocalPart(ReadOnlySpan<byte> local, bool allowUtf8, ref bool utf8Seen)
    {
        if (local[0] == (byte)'"')
        {
            // Quoted-string: qtextSMTP / quoted-pairSMTP
            if (local.Length < 2 || local[^1] != (byte)'"')
            {
                return false;
            }
            for (var i = 1; i < local.Length - 1; i++)
            {
                var b = local[i];
                if (b == (byte)'\\')
                {
                    if (++i >= local.Length - 1 || local[i] is < 32 or > 126)
                    {
                        return false;
                    }
                }
                else if (b >= 0x80)
                {
                    utf8Seen = true;
                    if (!allowUtf8)
                    {
                        return false;
                    }
                }
                else if (b is < 32 or > 126 || b == (byte)'"')
                {
                    return false;
                }
            }
            return true;
        }
        // Dot-string
        var atomLength = 0;
        foreach (var b in local)
        {
            if (b == (byte)'.')
            {
                if (atomLength == 0)
                {
                    return false;
                }
                atomLength = 0;
            }
            else if (IsAtext(b))
            {
                atomLength++;
            }
            else if (b >= 0x80)
            {
                utf8Seen = true;
                if (!allowUtf8)
                {
                    return false;
                }
                atomLength++;
            }
            else
            {
                return false;
            }
        }
        return atomLength > 0;
    }

    public static bool IsDomain(ReadOnlySpan<byte> domain, bool allowUtf8, ref bool utf8Seen)
    {
        var labelLength = 0;
        var previous = (byte)'.';
        foreach (var b in domain)
        {
            if (b == (byte)'.')
            {
                if (labelLength == 0 || previous == (byte)'-')
                {
                    return false;
                }
                labelLength = 0;
            }
            else if (IsLetDig(b) || (b == (byte)'-' && labelLength > 0))
            {
                labelLength++;
            }
            else if (b >= 0x80)
            {
                utf8Seen = true;
                if (!allowUtf8)
                {
                    return false;
                }
                labelLength++;
            }
            else
            {
                return false;
            }
            if (labelLength > 63)
            {
                return false;
            }
            previous = b;
        }
        return labelLength > 0 && previous != (byte)'-';
    }

    public static bool IsAddressLiteral(ReadOnlySpan<byte> literal)
    {
        if (literal.Length < 3 || literal[^1] != (byte)']')
        {
            return false;
        }
        var inner = literal[1..^1];
        Span<char> chars = stackalloc char[inner.Length];
        for (var i = 0; i < inner.Length; i++)
        {
            if (inner[i] >= 0x80)
            {
                return false;
            }
            chars[i] = (char)inner[i];
        }
        if (inner.Length > 5 && Ascii.EqualsIgnoreCase(inner[..5], "IPv6:"u8))
        {
            return System.Net.IPAddress.TryParse(chars[5..], out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }
        return System.Net.IPAddress.TryParse(chars, out var v4) && v4.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            && inner.Count((byte)'.') == 3;
    }

    /// <summary>Splits the next esmtp-param (keyword[=value]) off <paramref name="parameters"/>. Returns false on bad syntax
    /// (a value's 8-bit octets must be UTF-8).</summary>
    public static bool TryReadParameter(ref ReadOnlySpan<byte> parameters, out ReadOnlySpan<byte> keyword, out ReadOnlySpan<byte> value)
    {
        keyword = default;
        value = default;
        var end = parameters.IndexOf((byte)' ');
        var param = end < 0 ? parameters : parameters[..end];
        parameters = end < 0 ? default : parameters[(end + 1)..].TrimStart((byte)' ');
        var eq = param.IndexOf((byte)'=');
        keyword = eq < 0 ? param : param[..eq];
        if (keyword.IsEmpty || !IsLetDig(keyword[0]))
        {
            return false;
        }
        foreach (var b in keyword)
        {
            if (!IsLetDig(b) && b != (byte)'-')
            {
                return false;
            }
        }
        if (eq >= 0)
        {
            value = param[(eq + 1)..];
            if (value.IsEmpty)
            {
                return false;
            }
            foreach (var b in value)
            {
                if (b is < 33 or 61 or 127)
                {
                    return false;
                }
            }
            // esmtp-value is %d33-60 / %d62-126 (RFC 5321 §4.1.2); RFC 6531 §3.3 adds UTF8-non-ascii, nothing else.
            if (!System.Text.Unicode.Utf8.IsValid(value))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Checks xtext (RFC 3461 §4): printable ASCII except '+' and '=', with "+XX" hex escapes.</summary>
    public static bool IsXtext(ReadOnlySpan<byte> value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var b = value[i];
            if (b == (byte)'+')
            {
                if (i + 2 >= value.Length || !Uri.IsHexDigit((char)value[i + 1]) || !Uri.IsHexDigit((char)value[i + 2]))
                {
                    return false;
                }
                i += 2;
            }
            else if (b is < 33 or > 126 or (byte)'=')
            {
                return false;
            }
        }
        return true;
    }
}

internal enum SmtpPathStatus
{
    Ok,
    Syntax,
    BadAddress,
    TooLong,
    NeedsSmtpUtf8,
}
