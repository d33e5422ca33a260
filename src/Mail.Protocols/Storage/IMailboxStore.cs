namespace Mail.Protocols.Storage;

/// <summary>
/// The mailboxes of every user: a tree of folders per user, each holding messages with UIDs, flags,
/// keywords, internal dates and MODSEQs. SMTP local delivery appends to it; POP3 and IMAP read and change it.
/// </summary>
/// <remarks>
/// <para>
/// Implementations must be safe for concurrent use by many sessions. Every change (append, flag change,
/// expunge, folder change) is published to the <see cref="MailboxSubscription"/>s of that user (see <see cref="Subscribe"/>),
/// whichever session made it, as <see cref="MailboxChangeBatch"/>es through a bounded queue per subscription that the store
/// writes without blocking (<see cref="MailboxChangeHub"/> does this for every store): one batch per call and folder, in the
/// order the changes were made. A session opens a folder with <see cref="OpenFolderAsync"/>, which returns the folder's status
/// and messages at one instant and from that instant on queues the changes that follow, none missed, none counted twice.
/// The session passes its subscription to the calls that change messages; those changes are then answered by the call's
/// result and not queued for it. A subscription that falls behind reads one batch with
/// <see cref="MailboxChangeBatch.ResyncRequired"/> and opens the folder again.
/// </para>
/// <para>
/// There are no unknown users: every method treats a user it has not seen before as one with an empty INBOX
/// (creating it on first use), so a user's existence is the business of <see cref="Users.IUserDirectory"/>, not of the store.
/// </para>
/// <para>
/// Folder names are full hierarchical names using <see cref="HierarchySeparator"/>; the name
/// <c>INBOX</c> is case-insensitive and always exists. UIDs are assigned in strictly ascending order per
/// folder and are never reused while <see cref="FolderStatus.UidValidity"/> stays the same, not even the UID of
/// the last message after it was expunged. A folder created (again) under a name gets a UIDVALIDITY greater than
/// any the name had before, also after a restart (RFC 3501 §2.3.1.1); a renamed folder keeps its UIDVALIDITY
/// and UIDs. MODSEQ values (RFC 7162) increase with every change to a message in the folder (append, flag or
/// keyword change), and every expunge raises <see cref="FolderStatus.HighestModSeq"/> too.
/// </para>
/// <para>
/// A durable store keeps across a restart (a new instance on the same storage) everything a client may have
/// cached: folders with their special use, UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, and each message's UID,
/// flags, keywords, internal date, size and MODSEQ, and the user's subscriptions. The contract suites in
/// <c>tests/Mail.Protocols.Testing.Contracts</c> test all of this (see docs/implementing-a-mailbox-store.md).
/// </para>
/// <para>
/// Errors are reported with <see cref="MailboxStoreException"/> and its <see cref="MailboxStoreError"/>: every
/// method naming a folder that does not exist (either folder of a copy or move) throws
/// <see cref="MailboxStoreError.FolderNotFound"/>; a folder name the store cannot hold,
/// <see cref="MailboxStoreError.InvalidName"/>; a keyword that is not an IMAP atom, <see cref="MailboxStoreError.InvalidKeyword"/>
/// (checked first, before the folder). UIDs that are not in the folder are not errors, except for the
/// methods that take a single UID.
/// </para>
/// </remarks>
public interface IMailboxStore
{
    /// <summary>The character separating levels of folder names (IMAP's hierarchy delimiter), for example <c>'/'</c> or <c>'.'</c>.</summary>
    char HierarchySeparator { get; }

    /// <summary>
    /// Lists all folders of a user, INBOX included, INBOX first and the others in ordinal order. Creates the user's
    /// INBOX on first use. A name that is not a folder but has folders below it (for example "a" after "a" was
    /// deleted and "a/b" was not) is listed too, with <see cref="FolderAttributes.NoSelect"/>, so that every level of
    /// the tree appears (RFC 9051 §6.3.9); it disappears with its last child.
    /// </summary>
    ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>Creates a folder (and any missing parents). A name listed with <see cref="FolderAttributes.NoSelect"/> can be created: it becomes a folder.</summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.FolderExists"/> if it exists (INBOX always does);
    /// <see cref="MailboxStoreError.InvalidName"/> for an empty name or one with an empty level.</exception>
    ValueTask<FolderInfo> CreateFolderAsync(string user, string folder, SpecialUse specialUse = SpecialUse.None, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets or changes the special-use role of an existing folder (RFC 6154; <see cref="SpecialUse.None"/> removes it).
    /// More than one folder may have the same role. A durable store keeps it across a restart. No change is published.
    /// </summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.FolderNotFound"/> if the folder does not exist
    /// (a <see cref="FolderAttributes.NoSelect"/> name included).</exception>
    ValueTask SetSpecialUseAsync(string user, string folder, SpecialUse specialUse, CancellationToken cancellationToken = default);

    /// <summary>
    /// Renames a folder and its children, which keep their UIDVALIDITY and UIDs; subscribers hear one
    /// <see cref="MailboxChangeKind.FolderRenamed"/> (the children's renames are implied).
    /// Renaming INBOX (RFC 9051 §6.3.5) is different: its messages move to a new folder <paramref name="newName"/>
    /// (flags, keywords and internal dates kept, new UIDs under a new UIDVALIDITY), and INBOX stays, empty, with its
    /// UIDVALIDITY and UIDNEXT, its children not moved. Subscribers hear a <see cref="MailboxChangeKind.MessageExpunged"/>
    /// in INBOX per message, in UID order, then a <see cref="MailboxChangeKind.FolderCreated"/> for <paramref name="newName"/>.
    /// Subscriptions are not changed.
    /// </summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.FolderNotFound"/> if <paramref name="folder"/> does not
    /// exist (a <see cref="FolderAttributes.NoSelect"/> name included); <see cref="MailboxStoreError.FolderExists"/> if <paramref name="newName"/> does.</exception>
    ValueTask RenameFolderAsync(string user, string folder, string newName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a folder and its messages; subscribers hear one <see cref="MailboxChangeKind.FolderDeleted"/>. The folders
    /// below it are not deleted: while there are any, the name stays in <see cref="ListFoldersAsync"/> with
    /// <see cref="FolderAttributes.NoSelect"/> (RFC 9051 §6.3.4, as in IMAP4rev1). Subscriptions are not changed
    /// (RFC 9051 §6.3.9). INBOX cannot be deleted.
    /// </summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.NotAllowed"/> for INBOX;
    /// <see cref="MailboxStoreError.FolderNotFound"/> if the folder does not exist (a <see cref="FolderAttributes.NoSelect"/>
    /// name included, which RFC 9051 also refuses).</exception>
    ValueTask DeleteFolderAsync(string user, string folder, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists the names the user subscribed to (IMAP SUBSCRIBE, LSUB and LIST (SUBSCRIBED)), in ordinal order, INBOX
    /// spelled <c>INBOX</c>. Folders that no longer exist, or never did, stay subscribed until unsubscribed.
    /// </summary>
    ValueTask<IReadOnlyList<string>> ListSubscriptionsAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes the user to a folder name (IMAP SUBSCRIBE). The folder need not exist (RFC 9051 §6.3.7);
    /// subscribing twice is harmless. A durable store keeps subscriptions across a restart.
    /// </summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.InvalidName"/> for a name the store could not hold as a folder.</exception>
    ValueTask AddSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default);

    /// <summary>Unsubscribes the user from a folder name (IMAP UNSUBSCRIBE); a name not subscribed is left as it is, without an error.</summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.InvalidName"/> for a name the store could not hold as a folder.</exception>
    ValueTask RemoveSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the counters of a folder: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, message, unseen, deleted and size totals
    /// (RECENT is not kept: see <see cref="FolderStatus"/>).
    /// </summary>
    ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns a snapshot of the messages of a folder in ascending UID order. The snapshot (the list and every
    /// <see cref="MessageInfo"/> in it, keywords included) does not change when the folder does; a store may hand the same
    /// immutable list to every caller until the folder changes. A session that follows the folder's changes uses
    /// <see cref="OpenFolderAsync"/> instead, which takes the status and the list at one instant. The IMAP session calls this
    /// for every SEARCH and for a FETCH of many messages, so it should cost little for a folder that did not change.
    /// </summary>
    ValueTask<IReadOnlyList<MessageInfo>> ListMessagesAsync(string user, string folder, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a message, reading <paramref name="content"/> to its end. Keywords in <paramref name="options"/> must be
    /// IMAP atoms (<see cref="MessageKeywords.Validate"/>): otherwise <see cref="MailboxStoreError.InvalidKeyword"/>
    /// is thrown before anything is read or stored. The message is visible (and, for a
    /// durable store, durable) when the returned task completes; if reading fails or is cancelled nothing
    /// is stored: no message, before or after a restart. A UID the failed append may have taken stays unused.
    /// The exception of a failing stream (or the <see cref="OperationCanceledException"/>) reaches the caller
    /// as it is, unless the store itself failed (then a <see cref="MailboxStoreException"/>).
    /// </summary>
    ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the content of a message as a readable, seekable stream (for partial fetches). The caller disposes it.
    /// </summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.MessageNotFound"/> if the UID is not in the folder.</exception>
    ValueTask<Stream> OpenContentAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default);

    /// <summary>Returns the MIME summary (envelope and body structure) computed once when the message was stored.</summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.MessageNotFound"/> if the UID is not in the folder.</exception>
    ValueTask<MessageSummary> GetSummaryAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns, for many messages in one call (an IMAP FETCH of ENVELOPE or BODYSTRUCTURE over a range), each
    /// message's <see cref="MessageInfo"/> (flags, keywords, MODSEQ, as <see cref="ListMessagesAsync"/> has them)
    /// together with its MIME summary, in ascending UID order, each UID once. UIDs not in the folder are left out.
    /// A store takes its lock a bounded number of times per call, not once per message.
    /// </summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.FolderNotFound"/> if the folder does not exist.</exception>
    ValueTask<IReadOnlyList<MessageSummaryEntry>> GetSummariesAsync(string user, string folder, IReadOnlyCollection<uint> uids, CancellationToken cancellationToken = default);

    /// <summary>
    /// Changes flags and keywords of the given messages. With <paramref name="unchangedSince"/> (RFC 7162
    /// UNCHANGEDSINCE), messages whose MODSEQ is greater are left alone and reported in
    /// <see cref="FlagUpdateResult.Modified"/>; the others are changed. UIDs not in the folder are ignored.
    /// Each message that changes gets a new MODSEQ, above the folder's HIGHESTMODSEQ before. Keywords must be IMAP
    /// atoms (<see cref="MessageKeywords.Validate"/>): otherwise <see cref="MailboxStoreError.InvalidKeyword"/> is
    /// thrown and no message changes.
    /// </summary>
    ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default);

    /// <summary>Copies messages (flags, keywords and internal date kept) to another folder; returns the UID mapping (RFC 4315 COPYUID).
    /// UIDs not in the source folder are left out of the mapping.</summary>
    ValueTask<CopyResult> CopyAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default);

    /// <summary>Moves messages to another folder (RFC 6851): a copy (flags, keywords and internal date kept) followed by an
    /// expunge from the source, atomically where the backend can. Subscribers hear a <see cref="MailboxChangeKind.MessageAdded"/>
    /// in the target and a <see cref="MailboxChangeKind.MessageExpunged"/> in the source per message.</summary>
    ValueTask<CopyResult> MoveAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Permanently removes messages. With <paramref name="uids"/> null, removes every message flagged
    /// <see cref="MessageFlags.Deleted"/>; otherwise removes exactly those UIDs (POP3 DELE, IMAP UID EXPUNGE
    /// passes only the ones flagged deleted). Returns the UIDs removed.
    /// </summary>
    ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the user's maildrop lease (RFC 1939 §8: one POP3 session per maildrop), or returns null if another
    /// session holds it, in this process or, for a store shared by several processes, in another one. Dispose the
    /// result to release it (more than once is harmless); a durable store's lease also ends when its process does.
    /// The lease excludes only other leases: every other method works while it is held.
    /// </summary>
    ValueTask<IDisposable?> TryAcquireMaildropLeaseAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>
    /// Registers a session for the changes of <paramref name="user"/>'s mailboxes: a bounded queue of <paramref name="capacity"/>
    /// batches (see <see cref="MailboxSubscription"/>). Dispose it to unregister. Most stores return
    /// <see cref="MailboxChangeHub.Subscribe"/> of the user's hub.
    /// </summary>
    MailboxSubscription Subscribe(string user, int capacity = MailboxSubscription.DefaultCapacity);

    /// <summary>
    /// Opens a folder: its status and its messages (ascending UIDs) taken at one instant, with a
    /// <see cref="FolderStatus.HighestModSeq"/> that covers exactly that list (the list an IMAP SELECT or a POP3 login works from).
    /// With <paramref name="subscription"/> (made by this store for this user), the subscription follows this folder from that
    /// instant on: message batches queued before are dropped (the snapshot holds them), every later change is queued
    /// (see <see cref="MailboxChangeHub.Opened"/>), and a pending resync is answered.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="subscription"/> is not one of this store for <paramref name="user"/>.</exception>
    ValueTask<FolderSnapshot> OpenFolderAsync(string user, string folder, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the UIDs expunged from a folder with a MODSEQ above <paramref name="modSeq"/> (RFC 7162 QRESYNC VANISHED), or
    /// <see cref="ExpungedUids.Remembered"/> false when the store no longer remembers that far back (each store keeps a bounded
    /// number per folder; see <see cref="ExpungedUidLog"/>). Every expunge raises HIGHESTMODSEQ and is remembered under that MODSEQ.
    /// </summary>
    ValueTask<ExpungedUids> GetExpungedSinceAsync(string user, string folder, ulong modSeq, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a folder as <see cref="OpenFolderAsync"/> does and returns with it the UIDs expunged with a MODSEQ above
    /// <paramref name="modSeq"/> as <see cref="GetExpungedSinceAsync"/> does: what an IMAP <c>SELECT (QRESYNC ...)</c> needs.
    /// The default calls the two methods one after the other; a store whose opening does costly work (a re-scan of
    /// the folder's files) overrides it to do that work once and take both answers at the same instant.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="subscription"/> is not one of this store for <paramref name="user"/>.</exception>
    async ValueTask<FolderResync> OpenFolderForResyncAsync(string user, string folder, ulong modSeq, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default)
    {
        var snapshot = await OpenFolderAsync(user, folder, subscription, cancellationToken).ConfigureAwait(false);
        var expunged = await GetExpungedSinceAsync(user, folder, modSeq, cancellationToken).ConfigureAwait(false);
        return new FolderResync(snapshot, expunged);
    }
}
