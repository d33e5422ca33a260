using System.Text;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>The STATUS data items (RFC 9051 §6.3.11, RFC 3501's RECENT, RFC 7162's HIGHESTMODSEQ).</summary>
[Flags]
internal enum StatusItems
{
    None = 0,
    Messages = 1,
    UidNext = 2,
    UidValidity = 4,
    Unseen = 8,
    Deleted = 16,
    Size = 32,
    Recent = 64,
    HighestModSeq = 128,
}

/// <summary>STATUS's arguments: <c>status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"</c>.</summary>
internal sealed record StatusArguments(string Mailbox, StatusItems Items)
{
    public static StatusArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var mailbox = reader.ReadMailbox();
        reader.ReadSpace();
        var items = ReadItems(ref reader);
        reader.ReadEnd();
        return new StatusArguments(mailbox, items);
    }

    /// <summary><c>"(" status-att *(SP status-att) ")"</c>, also LIST's <c>RETURN (STATUS (...))</c> (RFC 5819).</summary>
    public static StatusItems ReadItems(ref ImapReader reader)
    {
        reader.ReadOpenParen("Expected a list of STATUS items");
        var items = StatusItems.None;
        do
        {
            var item = reader.ReadAtom("Expected a STATUS item");
            items |= Ascii.EqualsIgnoreCase(item, "MESSAGES"u8) ? StatusItems.Messages
                : Ascii.EqualsIgnoreCase(item, "UIDNEXT"u8) ? StatusItems.UidNext
                : Ascii.EqualsIgnoreCase(item, "UIDVALIDITY"u8) ? StatusItems.UidValidity
                : Ascii.EqualsIgnoreCase(item, "UNSEEN"u8) ? StatusItems.Unseen
                : Ascii.EqualsIgnoreCase(item, "DELETED"u8) ? StatusItems.Deleted
                : Ascii.EqualsIgnoreCase(item, "SIZE"u8) ? StatusItems.Size
                : Ascii.EqualsIgnoreCase(item, "RECENT"u8) ? StatusItems.Recent
                : Ascii.EqualsIgnoreCase(item, "HIGHESTMODSEQ"u8) ? StatusItems.HighestModSeq
                : Unknown();
        }
        while (reader.TryReadSpace());
        reader.ReadCloseParen();
        return items;
    }

    private static StatusItems Unknown()
    {
        ImapParseException.Throw("Unknown STATUS item");
        return StatusItems.None;
    }
}
