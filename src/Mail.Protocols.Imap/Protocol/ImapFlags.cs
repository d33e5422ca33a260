using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// Flags as a command gives them (APPEND's flag list, STORE's flags): the system flags, and the keywords (atoms, each
/// once, compared case-insensitively, in the order and spelling first given).
/// </summary>
internal sealed record ImapFlags(MessageFlags Flags, IReadOnlyList<string> Keywords)
{
    /// <summary>No flag and no keyword.</summary>
    public static ImapFlags None { get; } = new(MessageFlags.None, []);

    /// <summary>The store's change for STORE with <paramref name="mode"/>.</summary>
    public FlagChange ToFlagChange(FlagChangeMode mode) => new(mode, Flags, Keywords);
}
