using System.Text;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>The commands that may follow UID (RFC 9051 §6.4.9, RFC 6851 for MOVE).</summary>
internal enum UidCommandKind
{
    Copy,
    Move,
    Fetch,
    Store,
    Search,
    Expunge,
}

/// <summary>
/// The UID prefix: <c>uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)</c>. <see cref="Read"/> reads
/// the SP and the command name and leaves the reader right after it, where that command's own parse goes on (with
/// sequence sets meaning UIDs); <see cref="ParseExpunge"/> is UID EXPUNGE's (<c>uid-expunge = "EXPUNGE" SP sequence-set</c>, RFC 4315).
/// </summary>
internal static class UidCommand
{
    public static UidCommandKind Read(ref ImapReader reader)
    {
        reader.ReadSpace("Expected a command after UID");
        var name = reader.ReadAtom("Expected a command after UID");
        return Ascii.EqualsIgnoreCase(name, "FETCH"u8) ? UidCommandKind.Fetch
            : Ascii.EqualsIgnoreCase(name, "STORE"u8) ? UidCommandKind.Store
            : Ascii.EqualsIgnoreCase(name, "SEARCH"u8) ? UidCommandKind.Search
            : Ascii.EqualsIgnoreCase(name, "COPY"u8) ? UidCommandKind.Copy
            : Ascii.EqualsIgnoreCase(name, "MOVE"u8) ? UidCommandKind.Move
            : Ascii.EqualsIgnoreCase(name, "EXPUNGE"u8) ? UidCommandKind.Expunge
            : Unknown();
    }

    /// <summary>UID EXPUNGE's UID set.</summary>
    public static SequenceSet ParseExpunge(ref ImapReader reader)
    {
        reader.ReadSpace("Expected a UID set");
        var set = reader.ReadSequenceSet();
        reader.ReadEnd();
        return set;
    }

    private static UidCommandKind Unknown()
    {
        ImapParseException.Throw("Unknown command after UID");
        return default;
    }
}
