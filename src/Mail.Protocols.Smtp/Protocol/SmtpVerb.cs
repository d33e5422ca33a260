using System.Buffers.Binary;

namespace Mail.Protocols.Smtp.Protocol;

internal enum SmtpVerb : byte
{
    Unknown,
    Helo,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Noop,
    Quit,
    Help,
    Vrfy,
    Expn,
    Verb,
    Auth,
    StartTls,
}

internal static class SmtpVerbs
{
    // First four octets, little-endian, folded to lower case with | 0x20202020.
    private const uint Helo = 'h' | ('e' << 8) | ('l' << 16) | ((uint)'o' << 24);
    private const uint Ehlo = 'e' | ('h' << 8) | ('l' << 16) | ((uint)'o' << 24);
    private const uint Mail = 'm' | ('a' << 8) | ('i' << 16) | ((uint)'l' << 24);
    private const uint Rcpt = 'r' | ('c' << 8) | ('p' << 16) | ((uint)'t' << 24);
    private const uint Data = 'd' | ('a' << 8) | ('t' << 16) | ((uint)'a' << 24);
    private const uint Bdat = 'b' | ('d' << 8) | ('a' << 16) | ((uint)'t' << 24);
    private const uint Rset = 'r' | ('s' << 8) | ('e' << 16) | ((uint)'t' << 24);
    private const uint Noop = 'n' | ('o' << 8) | ('o' << 16) | ((uint)'p' << 24);
    private const uint Quit = 'q' | ('u' << 8) | ('i' << 16) | ((uint)'t' << 24);
    private const uint Help = 'h' | ('e' << 8) | ('l' << 16) | ((uint)'p' << 24);
    private const uint Vrfy = 'v' | ('r' << 8) | ('f' << 16) | ((uint)'y' << 24);
    private const uint Expn = 'e' | ('x' << 8) | ('p' << 16) | ((uint)'n' << 24);
    private const uint Verb = 'v' | ('e' << 8) | ('r' << 16) | ((uint)'b' << 24);
    private const uint Auth = 'a' | ('u' << 8) | ('t' << 16) | ((uint)'h' << 24);
    private const uint Star = 's' | ('t' << 8) | ('a' << 16) | ((uint)'r' << 24);
    private const uint Ttls = 't' | ('t' << 8) | ('l' << 16) | ((uint)'s' << 24);

    /// <summary>Recognises the verb of a command line and returns the text after it (without the separating space).</summary>
    public static SmtpVerb Parse(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> arguments)
    {
        arguments = default;
        if (line.Length < 4)
        {
            return SmtpVerb.Unknown;
        }
        var first = BinaryPrimitives.ReadUInt32LittleEndian(line) | 0x20202020;
        var length = 4;
        SmtpVerb verb;
        switch (first)
        {
            case Helo: verb = SmtpVerb.Helo; break;
            case Ehlo: verb = SmtpVerb.Ehlo; break;
            case Mail: verb = SmtpVerb.Mail; break;
            case Rcpt: verb = SmtpVerb.Rcpt; break;
            case Data: verb = SmtpVerb.Data; break;
            case Bdat: verb = SmtpVerb.Bdat; break;
            case Rset: verb = SmtpVerb.Rset; break;
            case Noop: verb = SmtpVerb.Noop; break;
            case Quit: verb = SmtpVerb.Quit; break;
            case Help: verb = SmtpVerb.Help; break;
            case Vrfy: verb = SmtpVerb.Vrfy; break;
            case Expn: verb = SmtpVerb.Expn; break;
            case Verb: verb = SmtpVerb.Verb; break;
            case Auth: verb = SmtpVerb.Auth; break;
            case Star when line.Length >= 8 && (BinaryPrimitives.ReadUInt32LittleEndian(line[4..]) | 0x20202020) == Ttls:
                verb = SmtpVerb.StartTls;
                length = 8;
                break;
            default: return SmtpVerb.Unknown;
        }
        if (line.Length == length)
        {
            return verb;
        }
        if (line[length] != (byte)' ')
        {
            return SmtpVerb.Unknown;
        }
        arguments = line[(length + 1)..];
        return verb;
    }
}
