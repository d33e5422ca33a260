using System.Text;
using Mail.Protocols.Smtp.Protocol;

namespace Mail.Protocols.Fuzz.Targets.Smtp;

/// <summary>
/// One SMTP command line through the server's grammar (<see cref="SmtpVerbs"/>, <see cref="SmtpSyntax"/>, RFC 5321
/// §4.1.2): the verb, MAIL FROM's and RCPT TO's path (with and without SMTPUTF8, RFC 6531) and the esmtp-params after
/// it. Properties: nothing throws (the grammar reports, never throws); the verb's arguments are the line after the
/// verb and one space; an accepted address respects the limits (local part 64 octets, domain 255, path 256), is ASCII
/// unless SMTPUTF8 is on, is itself a valid Mailbox, and written back as "&lt;address&gt;" with the same parameters it
/// parses to the same address and parameters; every esmtp-param read has a keyword of letters, digits and "-" and a
/// value without "=", space or control octets whose 8-bit octets are UTF-8 (RFC 6531 §3.3), and reading them always
/// ends; xtext is recognised exactly.
/// </summary>
internal sealed class CommandLineTarget : IFuzzTarget
{
    private static readonly System.Buffers.SearchValues<byte> s_keywordChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"u8);

    public string Name => "SmtpCommandLine";

    public void Run(ReadOnlySpan<byte> input)
    {
        var line = input.IndexOf("\r\n"u8) is var crlf and >= 0 ? input[..crlf] : input;
        var verb = SmtpVerbs.Parse(line, out var arguments);
        if (verb != SmtpVerb.Unknown)
        {
            var length = verb == SmtpVerb.StartTls ? 8 : 4;
            Fuzz.Check(line.Length == length || (line[length] == (byte)' ' && arguments.Length == line.Length - length - 1),
                $"{verb}: the arguments are not the line after the verb and a space");
        }
        else
        {
            arguments = line;
        }

        foreach (var keyword in (ReadOnlySpan<string>)["FROM:", "TO:"])
        {
            foreach (var utf8 in (ReadOnlySpan<bool>)[false, true])
            {
                CheckPath(arguments, Encoding.ASCII.GetBytes(keyword), utf8);
            }
        }

        CheckXtext(arguments);
    }

    private static void CheckPath(ReadOnlySpan<byte> arguments, byte[] keyword, bool allowUtf8)
    {
        var allowNull = keyword.Length == 5;
        var status = SmtpSyntax.TryParsePathArgument(arguments, keyword, allowNull, allowUtf8, out var address, out var parameters);
        if (status != SmtpPathStatus.Ok)
        {
            return;
        }

        Fuzz.Check(arguments.EndsWith(parameters), "the parameters are not the end of the line");
        Fuzz.Check(parameters.IsEmpty || parameters[0] != (byte)' ', "the parameters start with a space");
        Fuzz.Check(allowNull || address.Length > 0, "an empty forward path was accepted");
        var octets = Encoding.UTF8.GetBytes(address);
        if (address.Length > 0 && address != "Postmaster")
        {
            Fuzz.Check(allowUtf8 || Ascii.IsValid(octets), $"a non-ASCII address without SMTPUTF8: {address}");
            var at = octets.AsSpan().LastIndexOf((byte)'@');
            Fuzz.Check(at > 0, $"an address without a local part and a domain: {address}");
            Fuzz.Check(at <= SmtpSyntax.MaxLocalPart, $"a local part of {at} octets");
            Fuzz.Check(octets.Length - at - 1 <= SmtpSyntax.MaxDomain, $"a domain of {octets.Length - at - 1} octets");
            Fuzz.Check(octets.Length + 2 <= SmtpSyntax.MaxPath, $"a path of {octets.Length + 2} octets");
            Fuzz.Equal(SmtpPathStatus.Ok, SmtpSyntax.TryParseMailbox(octets, allowUtf8), $"the address {address} as a Mailbox");
        }

        // Written back: keyword, the address in angle brackets, the parameters.
        byte[] written = [.. keyword, (byte)'<', .. octets, (byte)'>', .. (parameters.IsEmpty ? [] : (byte[])[(byte)' ', .. parameters])];
        var again = SmtpSyntax.TryParsePathArgument(written, keyword, allowNull, allowUtf8, out var address2, out var parameters2);
        Fuzz.Equal(SmtpPathStatus.Ok, again, $"\"{Fuzz.Escape(written)}\" written back");
        Fuzz.Equal(address, address2, "the address written back and parsed again");
        Fuzz.BytesEqual(parameters, parameters2, "the parameters written back and parsed again");

        var rest = parameters;
        for (var steps = 0; !rest.IsEmpty; steps++)
        {
            Fuzz.Check(steps <= parameters.Length, "reading the parameters does not end");
            var before = rest.Length;
            if (!SmtpSyntax.TryReadParameter(ref rest, out var name, out var value))
            {
                break;
            }

            Fuzz.Check(rest.Length < before, "TryReadParameter consumed nothing");
            Fuzz.Check(!name.IsEmpty && name.IndexOfAnyExcept(s_keywordChars) < 0 && name[0] != (byte)'-',
                $"the keyword \"{Fuzz.Escape(name)}\"");
            foreach (var b in value)
            {
                Fuzz.Check(b is > 32 and not (byte)'=' and not 127, $"the value \"{Fuzz.Escape(value)}\"");
            }

            Fuzz.Check(System.Text.Unicode.Utf8.IsValid(value), $"the value \"{Fuzz.Escape(value)}\" is not UTF-8");
        }
    }

    // xtext (RFC 3461 §4): "!".."~" except "+" and "=", or "+" and two hex digits.
    private static void CheckXtext(ReadOnlySpan<byte> value)
    {
        var expected = true;
        for (var i = 0; i < value.Length && expected; i++)
        {
            if (value[i] == (byte)'+')
            {
                expected = i + 2 < value.Length && Uri.IsHexDigit((char)value[i + 1]) && Uri.IsHexDigit((char)value[i + 2]);
                i += 2;
            }
            else
            {
                expected = value[i] is >= 33 and <= 126 and not (byte)'=';
            }
        }

        Fuzz.Equal(expected, SmtpSyntax.IsXtext(value), $"IsXtext(\"{Fuzz.Escape(value)}\")");
    }
}
