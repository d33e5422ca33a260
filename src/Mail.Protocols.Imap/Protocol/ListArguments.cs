namespace Mail.Protocols.Imap.Protocol;

/// <summary>LIST's selection options (RFC 5258 §3.1, RFC 6154 §5.1).</summary>
[Flags]
internal enum ListSelectOptions
{
    None = 0,
    Subscribed = 1,
    Remote = 2,
    RecursiveMatch = 4,
    SpecialUse = 8,
}

/// <summary>LIST's return options (RFC 5258 §3.2, RFC 6154 §5.2, RFC 5819).</summary>
[Flags]
internal enum ListReturnOptions
{
    None = 0,
    Subscribed = 1,
    Children = 2,
    SpecialUse = 4,
    Status = 8,
}

/// <summary>
/// LIST's arguments with LIST-EXTENDED (RFC 5258 §6):
/// <c>list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]</c>,
/// <c>mbox-or-pat = list-mailbox / patterns</c>, <c>patterns = "(" list-mailbox *(SP list-mailbox) ")"</c>,
/// <c>list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"</c>. An option given twice counts
/// once; an unknown option is a BAD (RFC 5258 §3); RECURSIVEMATCH needs another selection option than REMOTE
/// (§3.1: BAD otherwise).
/// </summary>
/// <param name="Reference">The reference name (decoded like a mailbox name).</param>
/// <param name="Patterns">One or more patterns. An empty one is LIST's special request for the delimiter only in a
/// basic LIST; in an extended one it matches nothing (RFC 5258 §3).</param>
/// <param name="Select">The selection options.</param>
/// <param name="Return">The return options (SUBSCRIBED included when it was a selection option, which implies it).</param>
/// <param name="StatusItems">The items of <c>RETURN (STATUS (...))</c>; <see cref="StatusItems.None"/> without it.</param>
/// <param name="IsExtended">Whether any of the three extensions was used (selection options, a pattern list, return options).</param>
internal sealed record ListArguments(string Reference, IReadOnlyList<string> Patterns, ListSelectOptions Select, ListReturnOptions Return, StatusItems StatusItems, bool IsExtended)
{
    public static ListArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var extended = false;
        var select = ListSelectOptions.None;
        if (reader.TryReadOpenParen())
        {
            extended = true;
            if (!reader.TryReadCloseParen())
            {
                do
                {
                    select |= reader.TryReadKeyword("SUBSCRIBED"u8) ? ListSelectOptions.Subscribed
                        : reader.TryReadKeyword("REMOTE"u8) ? ListSelectOptions.Remote
                        : reader.TryReadKeyword("RECURSIVEMATCH"u8) ? ListSelectOptions.RecursiveMatch
                        : reader.TryReadKeyword("SPECIAL-USE"u8) ? ListSelectOptions.SpecialUse
                        : Unknown<ListSelectOptions>("Unknown LIST selection option");
                }
                while (reader.TryReadSpace());
                reader.ReadCloseParen();
            }
            if ((select & ListSelectOptions.RecursiveMatch) != 0 && (select & (ListSelectOptions.Subscribed | ListSelectOptions.SpecialUse)) == 0)
            {
                ImapParseException.Throw("RECURSIVEMATCH needs another selection option");
            }
            reader.ReadSpace();
        }
        var reference = reader.ReadMailbox();
        reader.ReadSpace();
        var patterns = new List<string>();
        if (reader.TryReadOpenParen())
        {
            extended = true;
            do
            {
                patterns.Add(reader.ReadListMailbox());
            }
            while (reader.TryReadSpace());
            reader.ReadCloseParen();
        }
        else
        {
            patterns.Add(reader.ReadListMailbox());
        }
        var returns = ListReturnOptions.None;
        var statusItems = StatusItems.None;
        if (reader.TryReadSpace())
        {
            if (!reader.TryReadKeyword("RETURN"u8))
            {
                ImapParseException.Throw("Expected RETURN options");
            }
            extended = true;
            reader.ReadSpace();
            reader.ReadOpenParen("Expected RETURN options");
            if (!reader.TryReadCloseParen())
            {
                do
                {
                    if (reader.TryReadKeyword("STATUS"u8))
                    {
                        reader.ReadSpace();
                        statusItems |= StatusArguments.ReadItems(ref reader);
                        returns |= ListReturnOptions.Status;
                        continue;
                    }
                    returns |= reader.TryReadKeyword("SUBSCRIBED"u8) ? ListReturnOptions.Subscribed
                        : reader.TryReadKeyword("CHILDREN"u8) ? ListReturnOptions.Children
                        : reader.TryReadKeyword("SPECIAL-USE"u8) ? ListReturnOptions.SpecialUse
                        : Unknown<ListReturnOptions>("Unknown LIST return option");
                }
                while (reader.TryReadSpace());
                reader.ReadCloseParen();
            }
        }
        reader.ReadEnd();
        // RFC 5258 §3.1: the SUBSCRIBED selection option implies the SUBSCRIBED return option.
        if ((select & ListSelectOptions.Subscribed) != 0)
        {
            returns |= ListReturnOptions.Subscribed;
        }
        return new ListArguments(reference, patterns, select, returns, statusItems, extended);
    }

    private static T Unknown<T>(string message)
    {
        ImapParseException.Throw(message);
        return default!;
    }
}

/// <summary>LSUB's arguments: <c>lsub = "LSUB" SP mailbox SP list-mailbox</c> (RFC 3501 §6.3.9).</summary>
internal sealed record LsubArguments(string Reference, string Pattern)
{
    public static LsubArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var reference = reader.ReadMailbox();
        reader.ReadSpace();
        var pattern = reader.ReadListMailbox();
        reader.ReadEnd();
        return new LsubArguments(reference, pattern);
    }
}
