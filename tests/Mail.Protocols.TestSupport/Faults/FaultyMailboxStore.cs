using Mail.Protocols.Storage;

namespace Mail.Protocols.TestSupport.Faults;

/// <summary>
/// A store that forwards to another and, when told to, fails the way a third-party backend might: an operation
/// throws an exception of the backend's own (<see cref="Fail"/>, by method name), or a message's content stream
/// fails part-way (<see cref="BreakContentAfter"/>).
/// </summary>
public sealed class FaultyMailboxStore(IMailboxStore inner) : IMailboxStore
{
    public Func<string, Exception?>? Fail { get; set; }

    public int? BreakContentAfter { get; set; }

    /// <summary>Awaited by each append before it runs: a test holds an append here (a slow backend) until it releases it.</summary>
    public Func<Task>? BeforeAppend { get; set; }

    /// <summary>Awaited by each expunge before it runs: a test makes another session's change land just before it.</summary>
    public Func<Task>? BeforeExpunge { get; set; }

    /// <summary>When set, closing a content stream throws (after all of it was read).</summary>
    public bool BreakContentOnDispose { get; set; }

    private void Check(string method)
    {
        if (Fail?.Invoke(method) is { } fault)
        {
            throw fault;
        }
    }

    public char HierarchySeparator => inner.HierarchySeparator;

    public ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default)
    {
        Check(nameof(ListFoldersAsync));
        return inner.ListFoldersAsync(user, cancellationToken);
    }

    public ValueTask<FolderInfo> CreateFolderAsync(string user, string folder, SpecialUse specialUse = SpecialUse.None, CancellationToken cancellationToken = default)
    {
        Check(nameof(CreateFolderAsync));
        return inner.CreateFolderAsync(user, folder, specialUse, cancellationToken);
    }

    public ValueTask RenameFolderAsync(string user, string folder, string newName, CancellationToken cancellationToken = default)
    {
        Check(nameof(RenameFolderAsync));
        return inner.RenameFolderAsync(user, folder, newName, cancellationToken);
    }

    public ValueTask DeleteFolderAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        Check(nameof(DeleteFolderAsync));
        return inner.DeleteFolderAsync(user, folder, cancellationToken);
    }

    public ValueTask SetSpecialUseAsync(string user, string folder, SpecialUse specialUse, CancellationToken cancellationToken = default)
    {
        Check(nameof(SetSpecialUseAsync));
        return inner.SetSpecialUseAsync(user, folder, specialUse, cancellationToken);
    }

    public ValueTask<IReadOnlyList<string>> ListSubscriptionsAsync(string user, CancellationToken cancellationToken = default)
    {
        Check(nameof(ListSubscriptionsAsync));
        return inner.ListSubscriptionsAsync(user, cancellationToken);
    }

    public ValueTask AddSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        Check(nameof(AddSubscriptionAsync));
        return inner.AddSubscriptionAsync(user, folder, cancellationToken);
    }

    public ValueTask RemoveSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        Check(nameof(RemoveSubscriptionAsync));
        return inner.RemoveSubscriptionAsync(user, folder, cancellationToken);
    }

    public ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        Check(nameof(GetStatusAsync));
        return inner.GetStatusAsync(user, folder, cancellationToken);
    }

    public ValueTask<IReadOnlyList<MessageInfo>> ListMessagesAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        Check(nameof(ListMessagesAsync));
        return inner.ListMessagesAsync(user, folder, cancellationToken);
    }

    public async ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        if (BeforeAppend is { } before)
        {
            await before().WaitAsync(cancellationToken);
        }
        Check(nameof(AppendAsync));
        return await inner.AppendAsync(user, folder, content, options, session, cancellationToken);
    }

    public async ValueTask<Stream> OpenContentAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default)
    {
        Check(nameof(OpenContentAsync));
        var content = await inner.OpenContentAsync(user, folder, uid, cancellationToken);
        return BreakContentAfter is not null || BreakContentOnDispose
            ? new BreakingStream(content, BreakContentAfter ?? int.MaxValue, BreakContentOnDispose)
            : content;
    }

    public ValueTask<MessageSummary> GetSummaryAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default)
    {
        Check(nameof(GetSummaryAsync));
        return inner.GetSummaryAsync(user, folder, uid, cancellationToken);
    }

    public ValueTask<IReadOnlyList<MessageSummaryEntry>> GetSummariesAsync(string user, string folder, IReadOnlyCollection<uint> uids, CancellationToken cancellationToken = default)
    {
        Check(nameof(GetSummariesAsync));
        return inner.GetSummariesAsync(user, folder, uids, cancellationToken);
    }

    public ValueTask<IDisposable?> TryAcquireMaildropLeaseAsync(string user, CancellationToken cancellationToken = default)
    {
        Check(nameof(TryAcquireMaildropLeaseAsync));
        return inner.TryAcquireMaildropLeaseAsync(user, cancellationToken);
    }

    public ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        Check(nameof(UpdateFlagsAsync));
        return inner.UpdateFlagsAsync(user, folder, uids, change, unchangedSince, session, cancellationToken);
    }

    public ValueTask<CopyResult> CopyAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        Check(nameof(CopyAsync));
        return inner.CopyAsync(user, folder, uids, targetFolder, session, cancellationToken);
    }

    public ValueTask<CopyResult> MoveAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        Check(nameof(MoveAsync));
        return inner.MoveAsync(user, folder, uids, targetFolder, session, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        if (BeforeExpunge is { } before)
        {
            await before().WaitAsync(cancellationToken);
        }
        Check(nameof(ExpungeAsync));
        return await inner.ExpungeAsync(user, folder, uids, session, cancellationToken);
    }

    public MailboxSubscription Subscribe(string user, int capacity = MailboxSubscription.DefaultCapacity) => inner.Subscribe(user, capacity);

    public ValueTask<FolderSnapshot> OpenFolderAsync(string user, string folder, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default)
    {
        Check(nameof(OpenFolderAsync));
        return inner.OpenFolderAsync(user, folder, subscription, cancellationToken);
    }

    public ValueTask<ExpungedUids> GetExpungedSinceAsync(string user, string folder, ulong modSeq, CancellationToken cancellationToken = default)
    {
        Check(nameof(GetExpungedSinceAsync));
        return inner.GetExpungedSinceAsync(user, folder, modSeq, cancellationToken);
    }

    // Gives out `limit` octets, then fails the way a broken network file system or object store read would;
    // optionally its Dispose fails too (a close that reports a deferred error).
    private sealed class BreakingStream(Stream inner, int limit, bool failOnDispose) : Stream
    {
        private int _given;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _given; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_given >= limit)
            {
                throw new InvalidDataException("backend: object read failed part-way");
            }
            var read = inner.Read(buffer[..Math.Min(buffer.Length, limit - _given)]);
            _given += read;
            return read;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
            if (disposing && failOnDispose)
            {
                throw new InvalidOperationException("backend: closing the object failed");
            }
        }
    }
}
