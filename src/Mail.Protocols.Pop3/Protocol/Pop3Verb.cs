using System.Buffers.Binary;

namespace Mail.Protocols.Pop3.Protocol;

internal enum Pop3Verb : byte
{
    Unknown,
    User,
    Pass,
    Apop,
    Auth,
    Capa,
    Stls,
    Utf8,
    Stat,
    List,
    Retr,
    Dele,
    Noop,
    Rset,
    Quit,
    Top,
    Uidl,
}

internal static class Pop3Verbs
{
    private static uint Key(string verb) => verb[0] | ((uint)verb[1] << 8) | ((uint)verb[2] << 16) | ((uint)verb[3] << 24) | 0x20202020;

    private static readonly uint s_user = Key("USER"), s_pass = Key("PASS"), s_apop = Key("APOP"), s_auth = Key("AUTH"),
        s_capa = Key("CAPA"), s_stls = Key("STLS"), s_utf8 = Key("UTF8"), s_stat = Key("STAT"), s_list = Key("LIST"),
        s_retr = Key("RETR"), s_dele = Key("DELE"), s_noop = Key("NOOP"), s_rset = Key("RSET"), s_quit = Key("QUIT"),
        s_uidl = Key("UIDL");

    /// <summary>Recognises a keyword (case-insensitive) and returns the text after the separating space.</summary>
    public static Pop3Verb Parse(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> arguments)
    {
        arguments = default;
        // TOP is the only three-letter keyword.
        if (line.Length >= 3 && (line[0] | 0x20) == 't' && (line[1] | 0x20) == 'o' && (line[2] | 0x20) == 'p'
            && (line.Length == 3 || line[3] == (byte)' '))
        {
            arguments = line.Length > 3 ? line[4..] : default;
            return Pop3Verb.Top;
        }
        if (line.Length < 4 || (line.Length > 4 && line[4] != (byte)' '))
        {
            return Pop3Verb.Unknown;
        }
        var key = BinaryPrimitives.ReadUInt32LittleEndian(line) | 0x20202020;
        arguments = line.Length > 4 ? line[5..] : default;
        return key == s_user ? Pop3Verb.User
            : key == s_pass ? Pop3Verb.Pass
            : key == s_apop ? Pop3Verb.Apop
            : key == s_auth ? Pop3Verb.Auth
            : key == s_capa ? Pop3Verb.Capa
            : key == s_stls ? Pop3Verb.Stls
            : key == s_utf8 ? Pop3Verb.Utf8
            : key == s_stat ? Pop3Verb.Stat
            : key == s_list ? Pop3Verb.List
            : key == s_retr ? Pop3Verb.Retr
            : key == s_dele ? Pop3Verb.Dele
            : key == s_noop ? Pop3Verb.Noop
            : key == s_rset ? Pop3Verb.Rset
            : key == s_quit ? Pop3Verb.Quit
            : key == s_uidl ? Pop3Verb.Uidl
            : Pop3Verb.Unknown;
    }
}
