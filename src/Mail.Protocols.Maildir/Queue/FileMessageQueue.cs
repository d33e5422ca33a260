using System.Globalization;
using System.Text.Json;
using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Maildir.Telemetry;
using Mail.Protocols.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Maildir.Queue;

/// <summary>
/// A durable <see cref="IMessageQueue"/> in a directory: msg/ID holds the content, env/ID.json the envelope,
/// per-recipient state, schedule and lease. An entry exists once its state file has been renamed into env/,
/// after both files were flushed; every later change replaces the state file the same way. So a crash (or
/// kill -9) at any point leaves each entry either absent or whole, with the state of its last completed
/// operation, and a lease held by a process that died simply runs out. Several processes may share one
/// queue directory: leasing and completing take an exclusive lock file (queue.lock).
/// </summary>
public sealed class FileMessageQueue : IMessageQueue, IDisposable
{
    private static readonly TimeSpan s_orphanAge = TimeSpan.FromHours(1);
    private static long s_counter;
    private readonly FileMessageQueueOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (DateTime WriteTime, long Length, QueueEntryFile Entry)> _cache = new(StringComparer.Ordinal);
    private readonly string _tmp, _msg, _env, _corrupt, _lockPath;

    /// <summary>Opens (or creates) the queue in <see cref="FileMessageQueueOptions.Path"/>, removing half-written leftovers of a crash.</summary>
    public FileMessageQueue(FileMessageQueueOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Path);
        _options = options;
        _logger = options.LoggerFactory?.CreateLogger("Mail.Protocols.Maildir.Queue") ?? NullLogger.Instance;
        var root = System.IO.Path.GetFullPath(options.Path);
        _tmp = System.IO.Path.Combine(root, "tmp");
        _msg = System.IO.Path.Combine(root, "msg");
        _env = System.IO.Path.Combine(root, "env");
        _corrupt = System.IO.Path.Combine(root, "corrupt");
        _lockPath = System.IO.Path.Combine(root, "queue.lock");
        foreach (var directory in new[] { _tmp, _msg, _env, _corrupt })
        {
            DurableIO.CreateDirectory(directory, options.DirectoryPermissions); // the queue directory itself too
        }
        RemoveOrphans();
        MaildirLog.QueueOpened(_logger, root, Directory.EnumerateFiles(_env, "*.json").Count());
    }

    /// <summary>Opens the queue in <paramref name="path"/> with default options and the given clock.</summary>
    public FileMessageQueue(string path, TimeProvider? timeProvider = null)
        : this(new FileMessageQueueOptions { Path = path, TimeProvider = timeProvider ?? TimeProvider.System }) { }

    // Content without a state file is an enqueue that never completed; old enough, it is nobody's work in progress.
    private void RemoveOrphans()
    {
        var cutoff = DateTime.UtcNow - s_orphanAge;
        foreach (var file in new DirectoryInfo(_tmp).EnumerateFiles().Where(f => f.LastWriteTimeUtc < cutoff))
        {
            file.Delete();
        }
        foreach (var file in new DirectoryInfo(_msg).EnumerateFiles().Where(f => f.LastWriteTimeUtc < cutoff && !File.Exists(EnvPath(f.Name))))
        {
            file.Delete();
        }
    }

    private string EnvPath(string id) => System.IO.Path.Combine(_env, id + ".json");
    private string MsgPath(string id) => System.IO.Path.Combine(_msg, id);

    private static string NewId(DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"{now.ToUnixTimeMilliseconds():X11}{Environment.ProcessId & 0xFFFFFF:X6}{Interlocked.Increment(ref s_counter) & 0xFFFFFF:X6}");

    /// <inheritdoc />
    public async ValueTask<string> EnqueueAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(content);
        var now = _options.TimeProvider.GetUtcNow();
        var id = NewId(now);
        var tmpContent = System.IO.Path.Combine(_tmp, id);
        var tmpState = System.IO.Path.Combine(_tmp, id + ".json");
        try
        {
            using (var file = DurableIO.Open(tmpContent, FileMode.CreateNew, FileAccess.Write, FileShare.None, _options.FilePermissions))
            {
                await DurableIO.CopyToFileAsync(content, file, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: _options.Fsync);
            }
            var entry = new QueueEntryFile(envelope, [.. envelope.Recipients.Select(r => new RecipientStatus(r, RecipientState.Pending))], 0, now, null, DateTimeOffset.MinValue);
            WriteFile(tmpState, entry.Serialize());
            // The content first, then the state file: its rename into env/ is the moment the entry exists.
            File.Move(tmpContent, MsgPath(id));
            File.Move(tmpState, EnvPath(id));
            if (_options.Fsync)
            {
                DurableIO.SyncDirectory(_msg);
                DurableIO.SyncDirectory(_env);
            }
            return id;
        }
        catch
        {
            foreach (var path in new[] { tmpContent, tmpState })
            {
                File.Delete(path);
            }
            if (!File.Exists(EnvPath(id)))
            {
                File.Delete(MsgPath(id));
            }
            throw;
        }
    }

    private void WriteFile(string path, byte[] bytes)
    {
        using var file = DurableIO.Open(path, FileMode.Create, FileAccess.Write, FileShare.None, _options.FilePermissions);
        file.Write(bytes);
        file.Flush(flushToDisk: _options.Fsync);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<QueueLease>> LeaseAsync(int maxEntries, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEntries);
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var now = _options.TimeProvider.GetUtcNow();
        var due = Scan().Where(e => e.Entry.NextAttempt <= now && e.Entry.LeaseExpires <= now)
            .OrderBy(e => e.Entry.NextAttempt).ThenBy(e => e.Id, StringComparer.Ordinal).Take(maxEntries).ToList();
        var leases = new List<QueueLease>(due.Count);
        foreach (var (id, entry) in due)
        {
            var leased = entry with { LeaseToken = Guid.NewGuid().ToString("N"), LeaseExpires = now + leaseDuration };
            Save(id, leased);
            leases.Add(new QueueLease(id, leased.LeaseToken!, leased.Envelope, leased.Recipients, leased.Attempts, leased.LeaseExpires));
        }
        return leases;
    }

    // Every entry's state, re-read only when its file changed (another process may share the directory).
    private List<(string Id, QueueEntryFile Entry)> Scan()
    {
        var entries = new List<(string, QueueEntryFile)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in new DirectoryInfo(_env).EnumerateFiles("*.json"))
        {
            var id = System.IO.Path.GetFileNameWithoutExtension(file.Name);
            seen.Add(id);
            if (_cache.TryGetValue(id, out var cached) && cached.WriteTime == file.LastWriteTimeUtc && cached.Length == file.Length)
            {
                entries.Add((id, cached.Entry));
                continue;
            }
            try
            {
                var entry = QueueEntryFile.Deserialize(File.ReadAllBytes(file.FullName));
                _cache[id] = (file.LastWriteTimeUtc, file.Length, entry);
                entries.Add((id, entry));
            }
            catch (FileNotFoundException)
            {
                // Completed by another process meanwhile.
            }
            catch (JsonException ex)
            {
                // Never lose it silently, never crash on it: set it aside for a person to look at.
                var aside = System.IO.Path.Combine(_corrupt, file.Name);
                File.Move(file.FullName, aside, overwrite: true);
                MaildirLog.QueueEntryCorrupt(_logger, id, aside, ex);
            }
        }
        foreach (var gone in _cache.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _cache.Remove(gone);
        }
        return entries;
    }

    private void Save(string id, QueueEntryFile entry)
    {
        var path = EnvPath(id);
        DurableIO.WriteAtomically(path, entry.Serialize(), _options.Fsync, _options.FilePermissions);
        var info = new FileInfo(path);
        _cache[id] = (info.LastWriteTimeUtc, info.Length, entry);
    }

    /// <inheritdoc />
    public ValueTask<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queueId);
        if (queueId.Contains('/', StringComparison.Ordinal) || queueId.Contains('\\', StringComparison.Ordinal) || queueId.StartsWith('.'))
        {
            throw new MessageQueueException($"No queue entry {queueId}.");
        }
        try
        {
            return ValueTask.FromResult<Stream>(new FileStream(MsgPath(queueId), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 16 * 1024));
        }
        catch (FileNotFoundException ex)
        {
            throw new MessageQueueException($"No queue entry {queueId}.", ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask CompleteAsync(QueueLease lease, CancellationToken cancellationToken = default)
    {
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        Held(lease);
        Remove(lease.QueueId);
    }

    /// <inheritdoc />
    public ValueTask GiveUpAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, CancellationToken cancellationToken = default) =>
        CompleteAsync(lease, cancellationToken);

    private void Remove(string id)
    {
        // The state file goes first: without it the entry no longer exists, whatever happens next.
        File.Delete(EnvPath(id));
        if (_options.Fsync)
        {
            DurableIO.SyncDirectory(_env);
        }
        File.Delete(MsgPath(id));
        _cache.Remove(id);
    }

    /// <inheritdoc />
    public async ValueTask RescheduleAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, DateTimeOffset nextAttempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var entry = Held(lease);
        Save(lease.QueueId, entry with
        {
            Recipients = [.. recipients],
            Attempts = entry.Attempts + 1,
            NextAttempt = nextAttempt,
            LeaseToken = null,
            LeaseExpires = DateTimeOffset.MinValue,
        });
    }

    /// <inheritdoc />
    public ValueTask<int> CountAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Directory.EnumerateFiles(_env, "*.json").Count());

    /// <inheritdoc />
    /// <remarks>Reads what changed since the last scan (as <see cref="LeaseAsync"/> does), under the queue's lock.</remarks>
    public async ValueTask<DateTimeOffset?> GetOldestReceivedAtAsync(CancellationToken cancellationToken = default)
    {
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        return Scan() is { Count: > 0 } entries ? entries.Min(e => e.Entry.Envelope.ReceivedAt) : null;
    }

    // The entry a lease holds, read from the disk (another process may have taken it over), refusing stale or expired leases.
    private QueueEntryFile Held(QueueLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        QueueEntryFile entry;
        try
        {
            entry = QueueEntryFile.Deserialize(File.ReadAllBytes(EnvPath(lease.QueueId)));
        }
        catch (Exception ex) when (ex is FileNotFoundException or JsonException)
        {
            throw new MessageQueueException($"The lease on {lease.QueueId} is not held.", ex);
        }
        if (entry.LeaseToken != lease.LeaseToken || entry.LeaseExpires <= _options.TimeProvider.GetUtcNow())
        {
            throw new MessageQueueException($"The lease on {lease.QueueId} is not held.");
        }
        return entry;
    }

    // The in-process gate, then the lock file that other processes sharing the directory respect.
    private async Task<IDisposable> LockAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var deadline = DateTime.UtcNow + _options.LockTimeout;
            while (true)
            {
                try
                {
                    return new LockHolder(_gate, DurableIO.Open(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, _options.FilePermissions));
                }
                catch (IOException ex)
                {
                    if (DateTime.UtcNow >= deadline)
                    {
                        throw new MessageQueueException("The queue is locked by another process.", ex);
                    }
                }
                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    private sealed class LockHolder(SemaphoreSlim gate, FileStream lockFile) : IDisposable
    {
        public void Dispose()
        {
            lockFile.Dispose();
            gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();
}
