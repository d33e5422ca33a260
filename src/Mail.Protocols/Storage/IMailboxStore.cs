namespace Mail.Protocols.Storage;

/// <summary>
/// The mailboxes of every user: a tree of folders per user, each holding messages with UIDs, flags,
/// keywords, internal dates and MODSEQs. SMTP local delivery appends to it; POP3 and IMAP read and change it.
/// </summary>
/// <remarks>
/// <para>
/// Implementations must be safe for concurrent use by many sessions. Every change (append, flag change,
/// expunge, folder change) is published to the observers of that user registered with
/// <see cref="Subscribe"/>, whichever session made it, so that IMAP IDLE and POP3 maildrop locking work
/// across sessions.
/// </para>
/// <para>
/// Folder names are full hierarchical names using <see cref="HierarchySeparator"/>; the name
/// <c>INBOX</c> is case-insensitive and always exists. UIDs are assigned in strictly ascending order per
/// folder and are never reused while <see cref="FolderStatus.UidValidity"/> stays the same. MODSEQ values
/// (RFC 7162) increase with every change to a message in the folder.
/// </para>
/// <para>Errors are reported with <see cref="MailboxStoreException"/> and its <see cref="MailboxStoreError"/>.</para>
/// </remarks>
public interface IMailboxStore
{
    /// <summary>The character separating levels of folder names (IMAP's hierarchy delimiter), for example <c>'/'</c> or <c>'.'</c>.</summary>
    char HierarchySeparator { get; }

    /// <summary>Lists all folders of a user, INBOX included. Creates the user's INBOX on first use.</summary>
    ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>Creates a folder (and any missing parents).</summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.FolderExists"/> if it exists.</exception>
    ValueTask<FolderInfo> CreateFolderAsync(string user, string folder, SpecialUse specialUse = SpecialUse.None, CancellationToken cancellationToken = default);

    /// <summary>Renames a folder and its children. Renaming INBOX moves its messages to the new folder and leaves INBOX empty (RFC 3501 §6.3.5).</summary>
    ValueTask RenameFolderAsync(string user, string folder, string newName, CancellationToken cancellationToken = default);

    /// <summary>Deletes a folder and its messages. INBOX cannot be deleted.</summary>
    ValueTask DeleteFolderAsync(string user, string folder, CancellationToken cancellationToken = default);

    /// <summary>Returns the counters of a folder: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, message, unseen and size totals.</summary>
    ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns a snapshot of the messages of a folder in ascending UID order: the list an IMAP SELECT or a
    /// POP3 login works from. The snapshot does not change when the folder does; changes arrive as
    /// <see cref="MailboxChange"/> notifications.
    /// </summary>
    ValueTask<IReadOnlyList<MessageInfo>> ListMessagesAsync(string user, string folder, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a message, reading <paramref name="content"/> to its end. The message is visible (and, for a
    /// durable store, durable) when the returned task completes; if reading fails or is cancelled nothing
    /// is stored.
    /// </summary>
    ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the content of a message as a readable, seekable stream (for partial fetches). The caller disposes it.
    /// </summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.MessageNotFound"/> if the UID is not in the folder.</exception>
    ValueTask<Stream> OpenContentAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default);

    /// <summary>Returns the MIME summary (envelope and body structure) computed once when the message was stored.</summary>
    ValueTask<MessageSummary> GetSummaryAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default);

    /// <summary>
    /// Changes flags and keywords of the given messages. With <paramref name="unchangedSince"/> (RFC 7162
    /// UNCHANGEDSINCE), messages whose MODSEQ is greater are left alone and reported in
    /// <see cref="FlagUpdateResult.Modified"/>. UIDs not in the folder are ignored.
    /// </summary>
    ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, CancellationToken cancellationToken = default);

    /// <summary>Copies messages (flags, keywords and internal date kept) to another folder; returns the UID mapping (RFC 4315 COPYUID).</summary>
    ValueTask<CopyResult> CopyAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, CancellationToken cancellationToken = default);

    /// <summary>Moves messages to another folder (RFC 6851): a copy followed by an expunge from the source, atomically where the backend can.</summary>
    ValueTask<CopyResult> MoveAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, CancellationToken cancellationToken = default);

    /// <summary>
    /// Permanently removes messages. With <paramref name="uids"/> null, removes every message flagged
    /// <see cref="MessageFlags.Deleted"/>; otherwise removes exactly those UIDs (POP3 DELE, IMAP UID EXPUNGE
    /// passes only the ones flagged deleted). Returns the UIDs removed.
    /// </summary>
    ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Registers an observer for every change to the mailboxes of <paramref name="user"/>. Dispose the
    /// result to unregister. Observers are called after the change is stored and must not block.
    /// </summary>
    IDisposable Subscribe(string user, IMailboxObserver observer);
}

/// <summary>Receives the changes of one user's mailboxes (see <see cref="IMailboxStore.Subscribe"/>).</summary>
public interface IMailboxObserver
{
    /// <summary>Called once per change, after it is stored. Must return quickly (post to a queue, do not do I/O).</summary>
    void OnChange(MailboxChange change);
}
