namespace Mail.Protocols.Storage;

/// <summary>The system flags of RFC 3501 §2.3.2 that are stored with a message (\Recent is per session and not stored).</summary>
[Flags]
public enum MessageFlags
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary><c>\Seen</c>: the message has been read.</summary>
    Seen = 1,
    /// <summary><c>\Answered</c>: the message has been answered.</summary>
    Answered = 2,
    /// <summary><c>\Flagged</c>: the message is flagged for attention.</summary>
    Flagged = 4,
    /// <summary><c>\Deleted</c>: the message is marked for removal by a later expunge.</summary>
    Deleted = 8,
    /// <summary><c>\Draft</c>: the message is a draft.</summary>
    Draft = 16,
}

/// <summary>The special-use role of a folder (RFC 6154).</summary>
public enum SpecialUse
{
    /// <summary>An ordinary folder.</summary>
    None = 0,
    /// <summary><c>\All</c>: a virtual folder with every message.</summary>
    All,
    /// <summary><c>\Archive</c>.</summary>
    Archive,
    /// <summary><c>\Drafts</c>.</summary>
    Drafts,
    /// <summary><c>\Flagged</c>.</summary>
    Flagged,
    /// <summary><c>\Junk</c>.</summary>
    Junk,
    /// <summary><c>\Sent</c>.</summary>
    Sent,
    /// <summary><c>\Trash</c>.</summary>
    Trash,
}

/// <summary>How <see cref="FlagChange"/> applies its flags (IMAP STORE FLAGS, +FLAGS, -FLAGS).</summary>
public enum FlagChangeMode
{
    /// <summary>Replace the flags and keywords with the given ones.</summary>
    Replace,
    /// <summary>Add the given flags and keywords.</summary>
    Add,
    /// <summary>Remove the given flags and keywords.</summary>
    Remove,
}

/// <summary>A change of flags and keywords to apply to messages.</summary>
/// <param name="Mode">Replace, add or remove.</param>
/// <param name="Flags">The system flags.</param>
/// <param name="Keywords">The keywords (IMAP atoms such as <c>$Forwarded</c>); null means none.</param>
public sealed record FlagChange(FlagChangeMode Mode, MessageFlags Flags, IReadOnlyCollection<string>? Keywords = null);
