using System.Diagnostics;
using System.Diagnostics.Metrics;
using Mail.Protocols.Telemetry;

namespace Mail.Protocols.Storage;

/// <summary>Store operation latency for any <see cref="IMailboxStore"/>.</summary>
public static class MailboxStoreMetrics
{
    /// <summary>
    /// A store that passes every call to <paramref name="store"/> and records how long it took on the histogram
    /// <c>mail.store.operation.duration</c> (meter <see cref="MailMeters.Store"/>), by <c>mail.store.operation</c>
    /// (<c>append</c>, <c>open_folder</c>, <c>update_flags</c>, …) and, for a call that threw, <c>error.type</c> (the
    /// <see cref="MailboxStoreError"/> name, or the exception's type). Give it to the servers; keep the store itself for
    /// anything that needs its own type. <see cref="IFolderCacheStore"/> is passed on when the store has it; a store measured
    /// already is returned as it is.
    /// </summary>
    /// <param name="store">The store to measure.</param>
    /// <param name="meterFactory">Where the meter comes from; null for the process-wide meter.</param>
    /// <remarks>
    /// While nothing listens to the histogram a call costs one check more. <c>open_content</c> measures the opening; the
    /// reading of the stream is the caller's.
    /// </remarks>
    public static IMailboxStore WithMetrics(this IMailboxStore store, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store switch
        {
            MeasuredMailboxStore => store, // measured already (an application's own wrapping, then a host's): once is enough
            IFolderCacheStore => new MeasuredFolderCacheStore(store, StoreMetrics.For(meterFactory)),
            _ => new MeasuredMailboxStore(store, StoreMetrics.For(meterFactory)),
        };
    }
}

/// <summary>The instrument (meter <c>Mail.Protocols.Store</c>): one histogram, shared per meter.</summary>
internal static class StoreMetrics
{
    private static readonly Histogram<double> s_shared = Create(new Meter(MailMeters.Store, InstrumentationVersion.Of(typeof(StoreMetrics))));

    public static Histogram<double> For(IMeterFactory? meterFactory) =>
        meterFactory is null ? s_shared : Create(meterFactory.Create(new MeterOptions(MailMeters.Store) { Version = InstrumentationVersion.Of(typeof(StoreMetrics)) }));

    private static Histogram<double> Create(Meter meter) =>
        meter.CreateHistogram<double>("mail.store.operation.duration", "s", "Duration of mailbox store operations, by mail.store.operation.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
}

/// <summary>Passes each call on and times it (see <see cref="MailboxStoreMetrics.WithMetrics"/>).</summary>
internal class MeasuredMailboxStore(IMailboxStore inner, Histogram<double> duration) : IMailboxStore
{
    public char HierarchySeparator => inner.HierarchySeparator;

    public MailboxSubscription Subscribe(string user, int capacity = MailboxSubscription.DefaultCapacity) => inner.Subscribe(user, capacity);

    public ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default) =>
        Timed("list_folders", static (s, a) => s.ListFoldersAsync(a.user, a.cancellationToken), (user, cancellationToken));

    public ValueTask<FolderInfo> CreateFolderAsync(string user, string folder, SpecialUse specialUse = SpecialUse.None, CancellationToken cancellationToken = default) =>
        Timed("create_folder", static (s, a) => s.CreateFolderAsync(a.user, a.folder, a.specialUse, a.cancellationToken), (user, folder, specialUse, cancellationToken));

    public ValueTask SetSpecialUseAsync(string user, string folder, SpecialUse specialUse, CancellationToken cancellationToken = default) =>
        Timed("set_special_use", static (s, a) => s.SetSpecialUseAsync(a.user, a.folder, a.specialUse, a.cancellationToken), (user, folder, specialUse, cancellationToken));

    public ValueTask RenameFolderAsync(string user, string folder, string newName, CancellationToken cancellationToken = default) =>
        Timed("rename_folder", static (s, a) => s.RenameFolderAsync(a.user, a.folder, a.newName, a.cancellationToken), (user, folder, newName, cancellationToken));

    public ValueTask DeleteFolderAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        Timed("delete_folder", static (s, a) => s.DeleteFolderAsync(a.user, a.folder, a.cancellationToken), (user, folder, cancellationToken));

    public ValueTask<IReadOnlyList<string>> ListSubscriptionsAsync(string user, CancellationToken cancellationToken = default) =>
        Timed("list_subscriptions", static (s, a) => s.ListSubscriptionsAsync(a.user, a.cancellationToken), (user, cancellationToken));

    public ValueTask AddSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        Timed("add_subscription", static (s, a) => s.AddSubscriptionAsync(a.user, a.folder, a.cancellationToken), (user, folder, cancellationToken));

    public ValueTask RemoveSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        Timed("remove_subscription", static (s, a) => s.RemoveSubscriptionAsync(a.user, a.folder, a.cancellationToken), (user, folder, cancellationToken));

    public ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        Timed("get_status", static (s, a) => s.GetStatusAsync(a.user, a.folder, a.cancellationToken), (user, folder, cancellationToken));

    public ValueTask<IReadOnlyList<MessageInfo>> ListMessagesAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        Timed("list_messages", static (s, a) => s.ListMessagesAsync(a.user, a.folder, a.cancellationToken), (user, folder, cancellationToken));

    public ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        Timed("append", static (s, a) => s.AppendAsync(a.user, a.folder, a.content, a.options, a.session, a.cancellationToken), (user, folder, content, options, session, cancellationToken));

    public ValueTask<Stream> OpenContentAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default) =>
        Timed("open_content", static (s, a) => s.OpenContentAsync(a.user, a.folder, a.uid, a.cancellationToken), (user, folder, uid, cancellationToken));

    public ValueTask<MessageSummary> GetSummaryAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default) =>
        Timed("get_summary", static (s, a) => s.GetSummaryAsync(a.user, a.folder, a.uid, a.cancellationToken), (user, folder, uid, cancellationToken));

    public ValueTask<IReadOnlyList<MessageSummaryEntry>> GetSummariesAsync(string user, string folder, IReadOnlyCollection<uint> uids, CancellationToken cancellationToken = default) =>
        Timed("get_summaries", static (s, a) => s.GetSummariesAsync(a.user, a.folder, a.uids, a.cancellationToken), (user, folder, uids, cancellationToken));

    public ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        Timed("update_flags", static (s, a) => s.UpdateFlagsAsync(a.user, a.folder, a.uids, a.change, a.unchangedSince, a.session, a.cancellationToken), (user, folder, uids, change, unchangedSince, session, cancellationToken));

    public ValueTask<CopyResult> CopyAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        Timed("copy", static (s, a) => s.CopyAsync(a.user, a.folder, a.uids, a.targetFolder, a.session, a.cancellationToken), (user, folder, uids, targetFolder, session, cancellationToken));

    public ValueTask<CopyResult> MoveAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        Timed("move", static (s, a) => s.MoveAsync(a.user, a.folder, a.uids, a.targetFolder, a.session, a.cancellationToken), (user, folder, uids, targetFolder, session, cancellationToken));

    public ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        Timed("expunge", static (s, a) => s.ExpungeAsync(a.user, a.folder, a.uids, a.session, a.cancellationToken), (user, folder, uids, session, cancellationToken));

    public ValueTask<IDisposable?> TryAcquireMaildropLeaseAsync(string user, CancellationToken cancellationToken = default) =>
        Timed("try_acquire_maildrop_lease", static (s, a) => s.TryAcquireMaildropLeaseAsync(a.user, a.cancellationToken), (user, cancellationToken));

    public ValueTask<FolderSnapshot> OpenFolderAsync(string user, string folder, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default) =>
        Timed("open_folder", static (s, a) => s.OpenFolderAsync(a.user, a.folder, a.subscription, a.cancellationToken), (user, folder, subscription, cancellationToken));

    public ValueTask<ExpungedUids> GetExpungedSinceAsync(string user, string folder, ulong modSeq, CancellationToken cancellationToken = default) =>
        Timed("get_expunged_since", static (s, a) => s.GetExpungedSinceAsync(a.user, a.folder, a.modSeq, a.cancellationToken), (user, folder, modSeq, cancellationToken));

    // The store's own version of the default method, if it has one.
    public ValueTask<FolderResync> OpenFolderForResyncAsync(string user, string folder, ulong modSeq, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default) =>
        Timed("open_folder_for_resync", static (s, a) => s.OpenFolderForResyncAsync(a.user, a.folder, a.modSeq, a.subscription, a.cancellationToken), (user, folder, modSeq, subscription, cancellationToken));

    // The call is a static lambda over a tuple of its arguments: nothing is allocated for a call that completes at once.
    protected ValueTask<TResult> Timed<TArgs, TResult>(string operation, Func<IMailboxStore, TArgs, ValueTask<TResult>> call, TArgs args)
    {
        if (!duration.Enabled)
        {
            return call(inner, args);
        }
        var started = Stopwatch.GetTimestamp();
        ValueTask<TResult> running;
        try
        {
            running = call(inner, args);
        }
        catch (Exception ex)
        {
            Record(operation, started, ex);
            throw;
        }
        if (running.IsCompletedSuccessfully)
        {
            Record(operation, started, null);
            return running;
        }
        return AwaitAsync(running, operation, started);
    }

    protected ValueTask Timed<TArgs>(string operation, Func<IMailboxStore, TArgs, ValueTask> call, TArgs args)
    {
        if (!duration.Enabled)
        {
            return call(inner, args);
        }
        var started = Stopwatch.GetTimestamp();
        ValueTask running;
        try
        {
            running = call(inner, args);
        }
        catch (Exception ex)
        {
            Record(operation, started, ex);
            throw;
        }
        if (running.IsCompletedSuccessfully)
        {
            Record(operation, started, null);
            return running;
        }
        return AwaitAsync(running, operation, started);
    }

    private async ValueTask AwaitAsync(ValueTask running, string operation, long started)
    {
        try
        {
            await running.ConfigureAwait(false);
            Record(operation, started, null);
        }
        catch (Exception ex)
        {
            Record(operation, started, ex);
            throw;
        }
    }

    private async ValueTask<TResult> AwaitAsync<TResult>(ValueTask<TResult> running, string operation, long started)
    {
        try
        {
            var result = await running.ConfigureAwait(false);
            Record(operation, started, null);
            return result;
        }
        catch (Exception ex)
        {
            Record(operation, started, ex);
            throw;
        }
    }

    private void Record(string operation, long started, Exception? failure)
    {
        var tags = new TagList { { "mail.store.operation", operation } };
        if (failure is not null)
        {
            tags.Add("error.type", failure is MailboxStoreException store ? store.Error.ToString() : failure.GetType().Name);
        }
        duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
    }
}

/// <summary>A measured store whose store keeps folder caches: those calls are passed on (and timed) too.</summary>
internal sealed class MeasuredFolderCacheStore(IMailboxStore inner, Histogram<double> duration) : MeasuredMailboxStore(inner, duration), IFolderCacheStore
{
    public ValueTask<byte[]?> ReadFolderCacheAsync(string user, string folder, string name, long maxLength, CancellationToken cancellationToken = default) =>
        Timed("read_folder_cache", static (s, a) => ((IFolderCacheStore)s).ReadFolderCacheAsync(a.user, a.folder, a.name, a.maxLength, a.cancellationToken), (user, folder, name, maxLength, cancellationToken));

    public ValueTask WriteFolderCacheAsync(string user, string folder, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) =>
        Timed("write_folder_cache", static (s, a) => ((IFolderCacheStore)s).WriteFolderCacheAsync(a.user, a.folder, a.name, a.content, a.cancellationToken), (user, folder, name, content, cancellationToken));
}
