using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// STORE's arguments (RFC 9051 §6.4.6, RFC 7162 §3.1.3):
/// <c>store = "STORE" SP sequence-set [SP "(" store-modifier *(SP store-modifier) ")"] SP store-att-flags</c>,
/// <c>store-modifier = "UNCHANGEDSINCE" SP mod-sequence-valzer</c>,
/// <c>store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))</c>.
/// </summary>
/// <param name="Set">The messages (sequence numbers, or UIDs after UID).</param>
/// <param name="UnchangedSince">The UNCHANGEDSINCE value (0 is allowed: it changes nothing and reports every message
/// as modified), or null without it.</param>
/// <param name="Mode">FLAGS replaces, +FLAGS adds, -FLAGS removes.</param>
/// <param name="Silent">.SILENT: no untagged FETCH for the changed flags.</param>
/// <param name="Flags">The flags and keywords.</param>
internal sealed record StoreArguments(SequenceSet Set, long? UnchangedSince, FlagChangeMode Mode, bool Silent, ImapFlags Flags)
{
    public static StoreArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var set = reader.ReadSequenceSet();
        reader.ReadSpace();
        long? unchangedSince = null;
        if (reader.TryReadOpenParen())
        {
            do
            {
                if (!reader.TryReadKeyword("UNCHANGEDSINCE"u8))
                {
                    ImapParseException.Throw("Unknown STORE modifier");
                }
                if (unchangedSince is not null)
                {
                    ImapParseException.Throw("UNCHANGEDSINCE given twice");
                }
                reader.ReadSpace();
                unchangedSince = reader.ReadNumber64();
            }
            while (reader.TryReadSpace());
            reader.ReadCloseParen();
            reader.ReadSpace();
        }
        var mode = reader.TryRead((byte)'+') ? FlagChangeMode.Add : reader.TryRead((byte)'-') ? FlagChangeMode.Remove : FlagChangeMode.Replace;
        // "FLAGS.SILENT" is one atom: "." is an ATOM-CHAR.
        var item = reader.ReadAtom("Expected FLAGS, +FLAGS or -FLAGS");
        var silent = Ascii.EqualsIgnoreCase(item, "FLAGS.SILENT"u8);
        if (!silent && !Ascii.EqualsIgnoreCase(item, "FLAGS"u8))
        {
            ImapParseException.Throw("Expected FLAGS, +FLAGS or -FLAGS");
        }
        reader.ReadSpace();
        var flags = reader.Peek() == '(' ? reader.ReadFlagList() : reader.ReadFlagSequence();
        reader.ReadEnd();
        return new StoreArguments(set, unchangedSince, mode, silent, flags);
    }
}
