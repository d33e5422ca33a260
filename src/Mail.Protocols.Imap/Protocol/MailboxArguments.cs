using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>The argument of DELETE, SUBSCRIBE and UNSUBSCRIBE: <c>SP mailbox</c> (RFC 9051 §6.3.5, §6.3.7, §6.3.8).</summary>
internal sealed record MailboxArguments(string Mailbox)
{
    public static MailboxArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var mailbox = reader.ReadMailbox();
        reader.ReadEnd();
        return new MailboxArguments(mailbox);
    }
}

/// <summary>RENAME's arguments: <c>rename = "RENAME" SP mailbox SP mailbox</c>.</summary>
internal sealed record RenameArguments(string From, string To)
{
    public static RenameArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var from = reader.ReadMailbox();
        reader.ReadSpace();
        var to = reader.ReadMailbox();
        reader.ReadEnd();
        return new RenameArguments(from, to);
    }
}

/// <summary>
/// CREATE's arguments: <c>create = "CREATE" SP mailbox [create-params]</c> with RFC 4466
/// <c>create-params = SP "(" create-param *(SP create-param) ")"</c> and RFC 6154's (CREATE-SPECIAL-USE)
/// <c>"USE" SP "(" [use-attr *(SP use-attr)] ")"</c>.
/// </summary>
/// <param name="Mailbox">The name (a trailing hierarchy delimiter is kept: RFC 9051 §6.3.4 lets the session drop it).</param>
/// <param name="Uses">The special uses asked for, each once.</param>
/// <param name="UnknownUses">Use attributes this server does not know (e.g. <c>\Important</c>): RFC 6154 §3 asks for
/// <c>NO [USEATTR]</c>, which is the session's reply, so they are returned rather than refused as BAD.</param>
internal sealed record CreateArguments(string Mailbox, IReadOnlyList<SpecialUse> Uses, IReadOnlyList<string> UnknownUses)
{
    public static CreateArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var mailbox = reader.ReadMailbox();
        var uses = new List<SpecialUse>();
        var unknown = new List<string>();
        var seenUnknown = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var sawUse = false;
        if (reader.TryReadSpace())
        {
            reader.ReadOpenParen("Expected CREATE parameters");
            do
            {
                if (!reader.TryReadKeyword("USE"u8))
                {
                    ImapParseException.Throw("Unknown CREATE parameter");
                }
                if (sawUse)
                {
                    ImapParseException.Throw("USE given twice");
                }
                sawUse = true;
                reader.ReadSpace();
                reader.ReadOpenParen("Expected a list of special uses");
                if (!reader.TryReadCloseParen())
                {
                    do
                    {
                        reader.Read((byte)'\\', "Invalid special use");
                        var name = reader.ReadAtomString("Invalid special use");
                        var use = ParseUse(name);
                        if (use == SpecialUse.None)
                        {
                            if (seenUnknown.Add(name))
                            {
                                unknown.Add("\\" + name);
                            }
                        }
                        else if (!uses.Contains(use))
                        {
                            uses.Add(use);
                        }
                    }
                    while (reader.TryReadSpace());
                    reader.ReadCloseParen();
                }
            }
            while (reader.TryReadSpace());
            reader.ReadCloseParen();
        }
        reader.ReadEnd();
        return new CreateArguments(mailbox, uses, unknown);
    }

    private static SpecialUse ParseUse(string name) => name.ToUpperInvariant() switch
    {
        "ALL" => SpecialUse.All,
        "ARCHIVE" => SpecialUse.Archive,
        "DRAFTS" => SpecialUse.Drafts,
        "FLAGGED" => SpecialUse.Flagged,
        "JUNK" => SpecialUse.Junk,
        "SENT" => SpecialUse.Sent,
        "TRASH" => SpecialUse.Trash,
        _ => SpecialUse.None,
    };
}
