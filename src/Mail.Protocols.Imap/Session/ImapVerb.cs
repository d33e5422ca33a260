namespace Mail.Protocols.Imap.Session;

/// <summary>The commands the session knows; the UID forms are verbs of their own.</summary>
internal enum ImapVerb
{
    Unknown,
    Capability, Noop, Logout,
    StartTls, Authenticate, Login,
    Enable, Select, Examine, Create, Delete, Rename, Subscribe, Unsubscribe, List, Lsub, Namespace, Status, Append, Idle, Id,
    Check, Close, Unselect, Expunge, Search, Fetch, Store, Copy, Move,
    Uid, UidExpunge, UidSearch, UidFetch, UidStore, UidCopy, UidMove, UnknownUid,
}

internal static class ImapVerbs
{
    private static readonly Dictionary<string, ImapVerb> s_verbs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["CAPABILITY"] = ImapVerb.Capability, ["NOOP"] = ImapVerb.Noop, ["LOGOUT"] = ImapVerb.Logout,
        ["STARTTLS"] = ImapVerb.StartTls, ["AUTHENTICATE"] = ImapVerb.Authenticate, ["LOGIN"] = ImapVerb.Login,
        ["ENABLE"] = ImapVerb.Enable, ["SELECT"] = ImapVerb.Select, ["EXAMINE"] = ImapVerb.Examine,
        ["CREATE"] = ImapVerb.Create, ["DELETE"] = ImapVerb.Delete, ["RENAME"] = ImapVerb.Rename,
        ["SUBSCRIBE"] = ImapVerb.Subscribe, ["UNSUBSCRIBE"] = ImapVerb.Unsubscribe, ["LIST"] = ImapVerb.List,
        ["LSUB"] = ImapVerb.Lsub, ["NAMESPACE"] = ImapVerb.Namespace, ["STATUS"] = ImapVerb.Status,
        ["APPEND"] = ImapVerb.Append, ["IDLE"] = ImapVerb.Idle, ["ID"] = ImapVerb.Id, ["CHECK"] = ImapVerb.Check,
        ["CLOSE"] = ImapVerb.Close, ["UNSELECT"] = ImapVerb.Unselect, ["EXPUNGE"] = ImapVerb.Expunge,
        ["SEARCH"] = ImapVerb.Search, ["FETCH"] = ImapVerb.Fetch, ["STORE"] = ImapVerb.Store, ["COPY"] = ImapVerb.Copy,
        ["MOVE"] = ImapVerb.Move, ["UID"] = ImapVerb.Uid,
    };

    private static readonly string[] s_names = BuildNames();

    /// <summary>The verb of a command name (case-insensitive); <see cref="ImapVerb.Unknown"/> when there is none.</summary>
    public static ImapVerb Parse(ReadOnlySpan<byte> name) =>
        name.Length <= 12 && s_verbs.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(Ascii(name, stackalloc char[12]), out var verb)
            ? verb : ImapVerb.Unknown;

    /// <summary>The verb of the command after UID (RFC 9051 §6.4.9: COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE).</summary>
    public static ImapVerb ParseUid(ReadOnlySpan<byte> name) => Parse(name) switch
    {
        ImapVerb.Expunge => ImapVerb.UidExpunge,
        ImapVerb.Search => ImapVerb.UidSearch,
        ImapVerb.Fetch => ImapVerb.UidFetch,
        ImapVerb.Store => ImapVerb.UidStore,
        ImapVerb.Copy => ImapVerb.UidCopy,
        ImapVerb.Move => ImapVerb.UidMove,
        _ => ImapVerb.UnknownUid,
    };

    /// <summary>The command's name for metrics (no string built per command).</summary>
    public static string Name(ImapVerb verb) => s_names[(int)verb];

    private static ReadOnlySpan<char> Ascii(ReadOnlySpan<byte> name, Span<char> buffer)
    {
        for (var i = 0; i < name.Length; i++)
        {
            buffer[i] = (char)name[i];
        }
        return buffer[..name.Length];
    }

    private static string[] BuildNames()
    {
        var names = new string[Enum.GetValues<ImapVerb>().Length];
        foreach (var verb in Enum.GetValues<ImapVerb>())
        {
            var text = verb.ToString();
            names[(int)verb] = text.StartsWith("Uid", StringComparison.Ordinal) && verb is not ImapVerb.Uid and not ImapVerb.UnknownUid
                ? "UID " + text[3..].ToUpperInvariant()
                : text.ToUpperInvariant();
        }
        return names;
    }
}
