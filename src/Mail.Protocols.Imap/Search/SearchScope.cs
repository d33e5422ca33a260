using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Search;

/// <summary>
/// The folder a SEARCH runs over, as the session sees it at the start of the command: its messages in sequence-number
/// order (the n-th has sequence number n, UIDs ascending), the store to read summaries and content from when a key needs
/// them, and the saved result <c>$</c> (RFC 5182). The session gives either the <see cref="MessageInfo"/>s it keeps, or only
/// its UIDs: the evaluator then reads the folder's <see cref="MessageInfo"/>s with one
/// <see cref="IMailboxStore.ListMessagesAsync"/> call, and a UID the store no longer has (expunged by another session, not
/// yet announced) keeps its sequence number and is never found.
/// </summary>
internal sealed class SearchScope
{
    /// <summary>A folder whose <see cref="MessageInfo"/>s the session holds.</summary>
    /// <param name="store">The user's mailbox store.</param>
    /// <param name="user">The user.</param>
    /// <param name="folder">The selected folder's name.</param>
    /// <param name="messages">The messages of the selected folder, in sequence-number order.</param>
    /// <param name="savedUids">The UIDs of the saved result; null when there is none (then <c>$</c> matches nothing, RFC 5182 §2.1).</param>
    public SearchScope(IMailboxStore store, string user, string folder, IReadOnlyList<MessageInfo> messages, NumberSet? savedUids = null)
        : this(store, user, folder, savedUids)
    {
        ArgumentNullException.ThrowIfNull(messages);
        Messages = messages;
    }

    /// <summary>A folder of which the session holds only the UIDs, in sequence-number order.</summary>
    /// <param name="store">The user's mailbox store.</param>
    /// <param name="user">The user.</param>
    /// <param name="folder">The selected folder's name.</param>
    /// <param name="uids">The UIDs of the selected folder, ascending (the n-th has sequence number n).</param>
    /// <param name="savedUids">The UIDs of the saved result; null when there is none.</param>
    public SearchScope(IMailboxStore store, string user, string folder, IReadOnlyList<uint> uids, NumberSet? savedUids = null)
        : this(store, user, folder, savedUids)
    {
        ArgumentNullException.ThrowIfNull(uids);
        Uids = uids;
    }

    private SearchScope(IMailboxStore store, string user, string folder, NumberSet? savedUids)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(folder);
        Store = store;
        User = user;
        Folder = folder;
        SavedUids = savedUids;
    }

    /// <summary>The user's mailbox store.</summary>
    public IMailboxStore Store { get; }

    /// <summary>The user.</summary>
    public string User { get; }

    /// <summary>The selected folder.</summary>
    public string Folder { get; }

    /// <summary>The messages in sequence-number order, when the session gave them.</summary>
    public IReadOnlyList<MessageInfo>? Messages { get; }

    /// <summary>The UIDs in sequence-number order, when the session gave only those.</summary>
    public IReadOnlyList<uint>? Uids { get; }

    /// <summary>The saved result; null when there is none.</summary>
    public NumberSet? SavedUids { get; }
}

/// <summary>
/// The messages a SEARCH found, in ascending order: their sequence numbers and (in the same order) their UIDs, with what
/// the responses need about their MODSEQs (RFC 7162 §3.1.5, RFC 4731 §3.2).
/// </summary>
internal sealed class SearchResult
{
    /// <summary>Creates a result; the arrays are the result's own (not copied).</summary>
    public SearchResult(uint[] sequenceNumbers, uint[] uids, ulong highestModSeq, ulong firstModSeq, ulong lastModSeq)
    {
        ArgumentNullException.ThrowIfNull(sequenceNumbers);
        ArgumentNullException.ThrowIfNull(uids);
        if (sequenceNumbers.Length != uids.Length)
        {
            throw new ArgumentException("One UID per sequence number.", nameof(uids));
        }
        SequenceNumbers = sequenceNumbers;
        Uids = uids;
        HighestModSeq = highestModSeq;
        FirstModSeq = firstModSeq;
        LastModSeq = lastModSeq;
    }

    /// <summary>The result of a search that found nothing.</summary>
    public static SearchResult Empty { get; } = new([], [], 0, 0, 0);

    /// <summary>The sequence numbers found, ascending.</summary>
    public ReadOnlyMemory<uint> SequenceNumbers { get; }

    /// <summary>The UIDs found, ascending, in the order of <see cref="SequenceNumbers"/>.</summary>
    public ReadOnlyMemory<uint> Uids { get; }

    /// <summary>How many messages were found.</summary>
    public int Count => Uids.Length;

    /// <summary>The highest MODSEQ of the messages found; 0 when none were.</summary>
    public ulong HighestModSeq { get; }

    /// <summary>The MODSEQ of the first message found (the one MIN reports); 0 when none were.</summary>
    public ulong FirstModSeq { get; }

    /// <summary>The MODSEQ of the last message found (the one MAX reports); 0 when none were.</summary>
    public ulong LastModSeq { get; }

    /// <summary>The numbers a response reports: UIDs for UID SEARCH, sequence numbers otherwise.</summary>
    public ReadOnlySpan<uint> Numbers(bool uid) => uid ? Uids.Span : SequenceNumbers.Span;
}
