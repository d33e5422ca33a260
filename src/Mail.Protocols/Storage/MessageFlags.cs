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
public sealed record FlagChange(FlagChangeMode Mode, MessageFlags Flags, IReadOnlyCollection<string>? Keywords = null)
{
    /// <summary>
    /// Applies the change to a message's flags and keywords (keywords compare case-insensitively, as IMAP's
    /// do). Returns false when the message would stay as it is, so a store neither rewrites it nor raises its MODSEQ.
    /// </summary>
    public bool TryApply(MessageFlags flags, IReadOnlyCollection<string> keywords, out MessageFlags newFlags, out string[] newKeywords)
    {
        ArgumentNullException.ThrowIfNull(keywords);
        string[] given = Keywords is null ? [] : [.. Keywords.Distinct(StringComparer.OrdinalIgnoreCase)];
        (newFlags, newKeywords) = Mode switch
        {
            FlagChangeMode.Add => (flags | Flags, keywords.Union(given, StringComparer.OrdinalIgnoreCase).ToArray()),
            FlagChangeMode.Remove => (flags & ~Flags, keywords.Except(given, StringComparer.OrdinalIgnoreCase).ToArray()),
            _ => (Flags, given),
        };
        return newFlags != flags || !newKeywords.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(keywords);
    }
}
