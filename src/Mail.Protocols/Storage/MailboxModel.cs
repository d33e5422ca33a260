namespace Mail.Protocols.Storage;

/// <summary>A folder of a user's mailbox tree, or a name that exists only as the parent of folders.</summary>
/// <param name="Name">The full hierarchical name, INBOX spelled <c>INBOX</c>.</param>
/// <param name="SpecialUse">Its special-use role, if any (RFC 6154); <see cref="SpecialUse.None"/> for a name that is not a folder.</param>
/// <param name="HasChildren">Whether names exist below it (IMAP <c>\HasChildren</c>; false is <c>\HasNoChildren</c>, RFC 5258 §4).</param>
/// <param name="Attributes">IMAP's <c>\Noselect</c> and <c>\NoInferiors</c> (see <see cref="FolderAttributes"/>).</param>
public sealed record FolderInfo(string Name, SpecialUse SpecialUse, bool HasChildren, FolderAttributes Attributes = FolderAttributes.None)
{
    /// <summary>Whether the name is a folder that can hold messages (no <c>\Noselect</c>).</summary>
    public bool IsSelectable => (Attributes & FolderAttributes.NoSelect) == 0;
}

/// <summary>The IMAP name attributes of a listed name that a store decides (RFC 9051 §7.3.1).</summary>
[Flags]
public enum FolderAttributes
{
    /// <summary>An ordinary folder: it holds messages and may hold children.</summary>
    None = 0,

    /// <summary>
    /// <c>\Noselect</c>: the name exists only as the parent of other folders (for example "a" when "a/b" exists
    /// but "a" was deleted or made by another program). It holds no messages; every message or status method
    /// naming it throws <see cref="MailboxStoreError.FolderNotFound"/>, and <see cref="IMailboxStore.CreateFolderAsync"/>
    /// makes it a folder. Such a name is listed only while it has children.
    /// </summary>
    NoSelect = 1,

    /// <summary>
    /// <c>\NoInferiors</c>: the store cannot hold folders below this one; creating one (or renaming a folder
    /// below it) throws <see cref="MailboxStoreError.NotAllowed"/>. None of the stores of this library sets it.
    /// </summary>
    NoInferiors = 2,
}

/// <summary>The counters of a folder, as IMAP SELECT/STATUS and POP3 STAT report them.</summary>
/// <param name="Name">The folder's full name.</param>
/// <param name="UidValidity">UIDVALIDITY: changes only if UIDs of this folder can no longer be trusted.</param>
/// <param name="UidNext">The UID the next appended message will get (at least).</param>
/// <param name="HighestModSeq">The highest MODSEQ of any message or expunge in the folder (RFC 7162).</param>
/// <param name="Messages">Number of messages.</param>
/// <param name="Unseen">Number of messages without <see cref="MessageFlags.Seen"/>.</param>
/// <param name="Size">Total size of the messages in octets.</param>
/// <param name="Deleted">Number of messages with <see cref="MessageFlags.Deleted"/> (RFC 9051 STATUS DELETED).</param>
/// <remarks>
/// There is no RECENT count: RFC 9051 removed <c>\Recent</c>, and no store of this library keeps it (it was a
/// per-session flag, never stored). An engine speaking IMAP4rev1 reports <c>RECENT 0</c> and no <c>\Recent</c> flag,
/// which RFC 3501 allows.
/// </remarks>
public sealed record FolderStatus(string Name, uint UidValidity, uint UidNext, ulong HighestModSeq, int Messages, int Unseen, long Size, int Deleted = 0);

/// <summary>What a store keeps about one message, besides its content and summary.</summary>
/// <param name="Uid">The message's UID in its folder.</param>
/// <param name="Flags">System flags.</param>
/// <param name="Keywords">Keywords (IMAP atoms, compared case-insensitively), empty when none.</param>
/// <param name="InternalDate">The internal date (delivery or APPEND time).</param>
/// <param name="Size">Size of the content in octets (RFC822.SIZE).</param>
/// <param name="ModSeq">The MODSEQ of the message's last change.</param>
public sealed record MessageInfo(uint Uid, MessageFlags Flags, IReadOnlyCollection<string> Keywords, DateTimeOffset InternalDate, long Size, ulong ModSeq);

/// <summary>Optional attributes of an appended message.</summary>
/// <param name="Flags">Initial flags.</param>
/// <param name="Keywords">Initial keywords: IMAP atoms (see <see cref="MessageKeywords.IsValid"/>).</param>
/// <param name="InternalDate">The internal date; null means now.</param>
public sealed record AppendOptions(MessageFlags Flags = MessageFlags.None, IReadOnlyCollection<string>? Keywords = null, DateTimeOffset? InternalDate = null);

/// <summary>The result of an append (RFC 4315 APPENDUID).</summary>
/// <param name="UidValidity">The target folder's UIDVALIDITY.</param>
/// <param name="Uid">The UID given to the message.</param>
/// <param name="Size">The stored size in octets.</param>
public sealed record AppendResult(uint UidValidity, uint Uid, long Size);

/// <summary>The result of a copy or move (RFC 4315 COPYUID).</summary>
/// <param name="UidValidity">The target folder's UIDVALIDITY.</param>
/// <param name="SourceUids">The source UIDs copied, in ascending order.</param>
/// <param name="TargetUids">The new UIDs, in the same order as <paramref name="SourceUids"/>.</param>
public sealed record CopyResult(uint UidValidity, IReadOnlyList<uint> SourceUids, IReadOnlyList<uint> TargetUids);

/// <summary>The result of a flag update.</summary>
/// <param name="Updated">The messages as they are after the change (only those that exist).</param>
/// <param name="Modified">UIDs left unchanged because their MODSEQ was above UNCHANGEDSINCE.</param>
public sealed record FlagUpdateResult(IReadOnlyList<MessageInfo> Updated, IReadOnlyList<uint> Modified);

/// <summary>Why a store operation failed.</summary>
public enum MailboxStoreError
{
    /// <summary>The folder does not exist.</summary>
    FolderNotFound,
    /// <summary>The folder already exists.</summary>
    FolderExists,
    /// <summary>The message is not in the folder.</summary>
    MessageNotFound,
    /// <summary>The operation is not allowed (for example deleting INBOX).</summary>
    NotAllowed,
    /// <summary>The folder name is not valid for this store.</summary>
    InvalidName,
    /// <summary>The storage is full; a temporary condition (SMTP 452 4.3.1, IMAP [OVERQUOTA]).</summary>
    InsufficientStorage,
    /// <summary>The backend failed; retry later.</summary>
    Unavailable,
    /// <summary>A keyword is not an IMAP atom (see <see cref="MessageKeywords.IsValid"/>); nothing was changed.</summary>
    InvalidKeyword,
    /// <summary>
    /// This user's mailbox is over its quota (RFC 3463 X.2.2): SMTP answers <c>452 4.2.2</c> while nothing of the
    /// message is stored yet, else reports the recipient to the writer (a list's member to its owner), IMAP answers <c>[OVERQUOTA]</c>.
    /// </summary>
    MailboxFull,
}

/// <summary>A store operation failed for a reason the protocols report to the client.</summary>
public sealed class MailboxStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MailboxStoreException(MailboxStoreError error, string message, Exception? innerException = null)
        : base(message, innerException) => Error = error;

    /// <summary>Creates an exception with <see cref="MailboxStoreError.Unavailable"/>.</summary>
    public MailboxStoreException() : this(MailboxStoreError.Unavailable, "The mailbox store is unavailable.") { }

    /// <summary>Creates an exception with <see cref="MailboxStoreError.Unavailable"/>.</summary>
    public MailboxStoreException(string message) : this(MailboxStoreError.Unavailable, message) { }

    /// <summary>Creates an exception with <see cref="MailboxStoreError.Unavailable"/>.</summary>
    public MailboxStoreException(string message, Exception innerException) : this(MailboxStoreError.Unavailable, message, innerException) { }

    /// <summary>Why it failed.</summary>
    public MailboxStoreError Error { get; }
}
