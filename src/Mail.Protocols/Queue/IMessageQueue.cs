namespace Mail.Protocols.Queue;

/// <summary>
/// The outbound queue: messages for other domains wait here until the delivery agent sends them.
/// </summary>
/// <remarks>
/// Work is handed out by lease: <see cref="LeaseAsync"/> returns due entries and hides them from other
/// callers until the lease expires, so several delivery workers (or nodes) can share one queue without
/// delivering a message twice. A lease ends with <see cref="CompleteAsync"/>, <see cref="RescheduleAsync"/>
/// or <see cref="GiveUpAsync"/>; an expired lease makes the entry due again. A lease is held until the instant
/// <see cref="QueueLease.LeaseExpires"/>; after that, or once another lease of the same entry was handed out, or
/// once it ended the entry's lease itself, it is stale, and ending it throws <see cref="MessageQueueException"/>
/// and changes nothing. Concurrent callers of <see cref="LeaseAsync"/> never get the same entry while a lease on it
/// is held.
/// <para>
/// The envelope comes back exactly as enqueued (every field, <see cref="QueueEnvelope.ReceivedAt"/> with its
/// offset). A new entry is due at once; due entries are leased earliest next attempt first.
/// </para>
/// <para>
/// Durable implementations must have the content and envelope on stable storage when <see cref="EnqueueAsync"/>
/// completes, and keep across a restart (a new instance on the same storage) each entry's envelope, content,
/// per-recipient state, attempts, next attempt and current lease (which then runs out as usual).
/// </para>
/// </remarks>
public interface IMessageQueue
{
    /// <summary>Stores a message with its envelope, reading <paramref name="content"/> to the end; returns the entry's queue id.
    /// If reading fails or is cancelled nothing is queued.</summary>
    ValueTask<string> EnqueueAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken = default);

    /// <summary>Leases up to <paramref name="maxEntries"/> entries whose next attempt is due, for <paramref name="leaseDuration"/>.</summary>
    ValueTask<IReadOnlyList<QueueLease>> LeaseAsync(int maxEntries, TimeSpan leaseDuration, CancellationToken cancellationToken = default);

    /// <summary>Opens the content of a queued message (readable, seekable). The caller disposes it.</summary>
    /// <exception cref="MessageQueueException">No entry has that id (any more).</exception>
    ValueTask<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken = default);

    /// <summary>Removes a leased entry: every recipient reached a final state.</summary>
    /// <exception cref="MessageQueueException">The lease is stale (expired, superseded or already ended).</exception>
    ValueTask CompleteAsync(QueueLease lease, CancellationToken cancellationToken = default);

    /// <summary>Records per-recipient results, counts an attempt, ends the lease and makes the entry due again at <paramref name="nextAttempt"/>.</summary>
    /// <exception cref="MessageQueueException">The lease is stale (expired, superseded or already ended).</exception>
    ValueTask RescheduleAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, DateTimeOffset nextAttempt, CancellationToken cancellationToken = default);

    /// <summary>Records final per-recipient results and removes the entry (the caller has produced any bounce).</summary>
    /// <exception cref="MessageQueueException">The lease is stale (expired, superseded or already ended).</exception>
    ValueTask GiveUpAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, CancellationToken cancellationToken = default);

    /// <summary>The number of entries in the queue, leased or not.</summary>
    ValueTask<int> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The <see cref="QueueEnvelope.ReceivedAt"/> of the oldest entry in the queue, leased or not, or null when it is
    /// empty: how long mail has waited (the delivery agent's <c>mail.queue.oldest.age</c> gauge).
    /// </summary>
    ValueTask<DateTimeOffset?> GetOldestReceivedAtAsync(CancellationToken cancellationToken = default);
}

/// <summary>The SMTP envelope of a queued message, with the DSN parameters of RFC 3461.</summary>
/// <param name="ReversePath">The MAIL FROM address; empty for the null reverse path <c>&lt;&gt;</c>.</param>
/// <param name="Recipients">The recipients to deliver to.</param>
/// <param name="ReceivedAt">When the message was accepted.</param>
/// <param name="EnvelopeId">DSN ENVID, if given.</param>
/// <param name="Return">DSN RET.</param>
/// <param name="Body">The BODY parameter of MAIL FROM.</param>
/// <param name="SmtpUtf8">Whether the message needs SMTPUTF8 (RFC 6531).</param>
/// <param name="TraceParent">
/// The W3C <c>traceparent</c> of the span that accepted the message, or null when nothing was tracing: the delivery
/// agent's attempts continue that trace. A queue keeps it with the envelope.
/// </param>
public sealed record QueueEnvelope(
    string ReversePath,
    IReadOnlyList<QueueRecipient> Recipients,
    DateTimeOffset ReceivedAt,
    string? EnvelopeId = null,
    DsnReturn Return = DsnReturn.Unspecified,
    MessageBodyType Body = MessageBodyType.SevenBit,
    bool SmtpUtf8 = false,
    string? TraceParent = null);

/// <summary>One recipient of a queued message.</summary>
/// <param name="Address">The forward path.</param>
/// <param name="Notify">DSN NOTIFY.</param>
/// <param name="OriginalRecipient">DSN ORCPT (<c>addr-type;xtext</c>), if given.</param>
public sealed record QueueRecipient(string Address, DsnNotify Notify = DsnNotify.Unspecified, string? OriginalRecipient = null);

/// <summary>DSN NOTIFY values (RFC 3461 §4.1).</summary>
[Flags]
public enum DsnNotify
{
    /// <summary>Not given: the default (DELAY and FAILURE) applies.</summary>
    Unspecified = 0,
    /// <summary>NEVER.</summary>
    Never = 1,
    /// <summary>SUCCESS.</summary>
    Success = 2,
    /// <summary>FAILURE.</summary>
    Failure = 4,
    /// <summary>DELAY.</summary>
    Delay = 8,
}

/// <summary>DSN RET (RFC 3461 §4.3).</summary>
public enum DsnReturn
{
    /// <summary>Not given.</summary>
    Unspecified,
    /// <summary>RET=FULL: return the whole message.</summary>
    Full,
    /// <summary>RET=HDRS: return only the headers.</summary>
    Headers,
}

/// <summary>The BODY parameter of MAIL FROM.</summary>
public enum MessageBodyType
{
    /// <summary>7BIT (or not given).</summary>
    SevenBit,
    /// <summary>8BITMIME (RFC 6152).</summary>
    EightBitMime,
    /// <summary>BINARYMIME (RFC 3030).</summary>
    BinaryMime,
}

/// <summary>A leased queue entry.</summary>
/// <param name="QueueId">The entry's id.</param>
/// <param name="LeaseToken">Identifies this lease; a stale token is refused.</param>
/// <param name="Envelope">The envelope as enqueued.</param>
/// <param name="Recipients">Per-recipient state so far (pending ones still to deliver).</param>
/// <param name="Attempts">How many delivery attempts were recorded.</param>
/// <param name="LeaseExpires">When the lease runs out.</param>
public sealed record QueueLease(string QueueId, string LeaseToken, QueueEnvelope Envelope, IReadOnlyList<RecipientStatus> Recipients, int Attempts, DateTimeOffset LeaseExpires);

/// <summary>Delivery state of one recipient.</summary>
public enum RecipientState
{
    /// <summary>Not delivered yet; will be tried again.</summary>
    Pending,
    /// <summary>Delivered.</summary>
    Delivered,
    /// <summary>Failed permanently.</summary>
    Failed,
    /// <summary>A delay notice was sent to the sender; still pending.</summary>
    DelayNotified,
}

/// <summary>A recipient's state and the last reply about it.</summary>
/// <param name="Recipient">The recipient.</param>
/// <param name="State">Its state.</param>
/// <param name="LastReply">The last SMTP reply or error text, if any.</param>
/// <param name="RemoteHost">The host that gave <paramref name="LastReply"/>, if any.</param>
/// <param name="LastAttempt">When it was last tried.</param>
/// <param name="DsnPending">A delivery status notification about <paramref name="State"/> is still owed to the sender.</param>
public sealed record RecipientStatus(QueueRecipient Recipient, RecipientState State, string? LastReply = null, string? RemoteHost = null, DateTimeOffset? LastAttempt = null, bool DsnPending = false);

/// <summary>A queue operation was refused (for example a stale lease).</summary>
public sealed class MessageQueueException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MessageQueueException() { }
    /// <summary>Creates the exception.</summary>
    public MessageQueueException(string message) : base(message) { }
    /// <summary>Creates the exception.</summary>
    public MessageQueueException(string message, Exception innerException) : base(message, innerException) { }
}
