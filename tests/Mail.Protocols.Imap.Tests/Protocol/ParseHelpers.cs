using System.Text;
using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

internal delegate T ReadFunc<T>(ref ImapReader reader);

/// <summary>Runs a parse function over a command written as text (each char one octet, Latin-1, so "\u00e9" is the octet 0xE9).</summary>
internal static class Parse
{
    public static byte[] Octets(string command) => Encoding.Latin1.GetBytes(command);

    /// <summary>Parses <paramref name="command"/> and checks that it was read to its end.</summary>
    public static T Read<T>(string command, ReadFunc<T> read, bool utf8Accept = false, int? maxDepth = null, int? maxRanges = null) =>
        Read(Octets(command), read, utf8Accept, maxDepth, maxRanges);

    public static T Read<T>(byte[] command, ReadFunc<T> read, bool utf8Accept = false, int? maxDepth = null, int? maxRanges = null)
    {
        var reader = new ImapReader(command)
        {
            Utf8Accept = utf8Accept,
            MaxNestingDepth = maxDepth ?? ImapReader.DefaultMaxNestingDepth,
            MaxSequenceRanges = maxRanges ?? SequenceSet.DefaultMaxRanges,
        };
        var value = read(ref reader);
        reader.ReadEnd();
        return value;
    }

    /// <summary>The BAD text the parse gives; fails the test if it succeeds or throws anything else.</summary>
    public static string Bad<T>(string command, ReadFunc<T> read, bool utf8Accept = false, int? maxDepth = null, int? maxRanges = null) =>
        Assert.Throws<ImapParseException>(() => Read(command, read, utf8Accept, maxDepth, maxRanges)).Message;

    public static string Bad<T>(byte[] command, ReadFunc<T> read, bool utf8Accept = false) =>
        Assert.Throws<ImapParseException>(() => Read(command, read, utf8Accept)).Message;

    public static string Text(ReadOnlySpan<byte> octets) => Encoding.Latin1.GetString(octets);
}
