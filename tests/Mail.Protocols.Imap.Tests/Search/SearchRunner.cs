using System.Buffers;
using System.Text;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Search;

namespace Mail.Protocols.Imap.Tests.Search;

/// <summary>
/// Runs one SEARCH command line (tag, <c>SEARCH</c> or <c>UID SEARCH</c>, arguments, literals inline) the way the session
/// does: parse, evaluate, write the untagged responses (and the BADCHARSET refusal), keep what SAVE saves. Returns the
/// octets the server would send before its tagged OK.
/// </summary>
internal sealed class SearchRunner(SearchFolder folder)
{
    /// <summary>The saved result <c>$</c>; null until a SAVE.</summary>
    public NumberSet? Saved { get; set; }

    /// <summary>Whether the session has enabled IMAP4rev2: SEARCH then answers ESEARCH (RFC 9051 §6.4.4).</summary>
    public bool Rev2 { get; init; }

    public async Task<string> RunAsync(string command) => await RunAsync(Encoding.UTF8.GetBytes(command));

    public async Task<string> RunAsync(byte[] command)
    {
        var (tag, uid, parsed) = Parse(command);
        var output = new ArrayBufferWriter<byte>();
        if (!parsed.CharsetSupported)
        {
            SearchResponseWriter.WriteBadCharset(output, tag);
            return Encoding.UTF8.GetString(output.WrittenSpan);
        }
        var result = await SearchEvaluator.EvaluateAsync(parsed.Key, folder.Scope(Saved));
        SearchResponseWriter.WriteResult(output, tag, uid, Rev2, parsed, result);
        if (parsed.Save)
        {
            Saved = SearchResponseWriter.SavedResult(parsed.Return, result);
        }
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>The BAD text of a command the grammar refuses (fails the test if it parses, or throws anything else).</summary>
    public static string Bad(string command) => Bad(Encoding.UTF8.GetBytes(command));

    public static string Bad(byte[] command) => Assert.Throws<ImapParseException>(() => Parse(command)).Message;

    public static (byte[] Tag, bool Uid, SearchCommand Command) Parse(byte[] command)
    {
        var reader = new ImapReader(command);
        var tag = reader.ReadTag().ToArray();
        reader.ReadSpace();
        var name = reader.ReadCommandName();
        var uid = Ascii.EqualsIgnoreCase(name, "UID"u8);
        Assert.True(uid ? UidCommand.Read(ref reader) == UidCommandKind.Search : Ascii.EqualsIgnoreCase(name, "SEARCH"u8));
        return (tag, uid, SearchCommand.Parse(ref reader));
    }
}
