using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Maildir;

/// <summary>
/// An <see cref="IMailboxStore"/> on Maildir++: <c>ROOT/user/</c> is the user's INBOX (cur/, new/, tmp/) and
/// <c>ROOT/user/.Archive.2026/</c> the folder "Archive/2026", the layout Dovecot, Courier, mutt and mbsync
/// read and write. Flags live in file names (<c>:2,FS</c>), keywords in the folder's "dovecot-keywords"
/// numbering, and UIDs, MODSEQs and internal dates in a per-folder journal ("mailprotocols.index").
/// See docs/maildir.md for the format and the durability guarantees.
/// </summary>
/// <remarks>
/// Messages are written to tmp/, flushed, renamed into new/ and recorded in the index before an append
/// completes, so a crash leaves either no message or a whole one. Other programs may add, remove and re-flag
/// files at any time: each folder is re-scanned when its directories change, and what changed is published
/// as notifications. The index of one user is written by one process at a time: the store holds a lock file
/// in the user's Maildir while it has it open, and another process using the same user fails with
/// <see cref="MailboxStoreError.Unavailable"/>.
/// </remarks>
public sealed partial class MaildirMailboxStore : IMailboxStore, IDisposable
{
    private const string LockFileName = "mailprotocols.lock";
    private const string UidValidityFileName = "mailprotocols.uidvalidity";
    private static readonly string[] s_messageDirectories = ["new", "cur"];
    private readonly ConcurrentDictionary<string, UserMailbox> _users = new(StringComparer.Ordinal); // by login normal form
    private readonly MaildirStoreOptions _options;
    private readonly ILogger _logger;
    private readonly string _root;
    private readonly string _hostName;
    private uint _lastUidValidity;
    private readonly ITimer? _poll;
    private bool _disposed;

    /// <summary>Creates a store on <see cref="MaildirStoreOptions.RootPath"/> (created if missing).</summary>
    public MaildirMailboxStore(MaildirStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.RootPath);
        _options = options;
        _logger = options.LoggerFactory?.CreateLogger("Mail.Protocols.Maildir") ?? NullLogger.Instance;
        _root = Path.GetFullPath(options.RootPath);
        _hostName = MaildirFileName.SafeHostName(options.HostName);
        DurableIO.CreateDirectory(_root, options.DirectoryPermissions);
        if (options.ExternalChangePollInterval is { } interval)
        {
            _poll = options.TimeProvider.CreateTimer(_ => PollExternalChanges(), null, interval, interval);
        }
    }

    // Users with subscribers get changes by other programs pushed to them; the others find them at their next call.
    private void PollExternalChanges()
    {
        foreach (var mailbox in _users.Values)
        {
            if (!mailbox.Changes.HasSubscribers || !mailbox.Gate.TryEnter())
            {
                continue; // a busy user refreshes on its own next call anyway
            }
            try
            {
                mailbox.RefreshOpenFolders();
                mailbox.Flush(null);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or MailboxStoreException or ObjectDisposedException)
            {
                // Reported to the next caller that touches the folder.
            }
            finally
            {
                mailbox.Gate.Exit();
            }
        }
    }

    /// <summary>Creates a store on <paramref name="rootPath"/> with default options.</summary>
    public MaildirMailboxStore(string rootPath) : this(new MaildirStoreOptions { RootPath = rootPath }) { }

    /// <inheritdoc />
    public char HierarchySeparator => FolderNames.Separator;

    /// <summary>The directory of a user's Maildir (their INBOX): the root and the login's normal form (<see cref="Users.UserName"/>).</summary>
    public string GetUserDirectory(string user) => Path.Combine(_root, FolderNames.UserDirectoryName(user));

    // UIDVALIDITY values come from the clock, never repeat within the process and are above the last one this
    // user's Maildir recorded (any process), so a folder re-created (or an index rebuilt) gets a value no client
    // can have cached for it, even right after a restart.
    private uint NewUidValidity(uint lastRecorded)
    {
        var now = (uint)_options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        while (true)
        {
            var last = _lastUidValidity;
            var next = Math.Max(Math.Max(now, last + 1), lastRecorded + 1);
            if (Interlocked.CompareExchange(ref _lastUidValidity, next, last) == last)
            {
                return next;
            }
        }
    }

    // File-system trouble other than a full disk is the store being unavailable, which every engine reports
    // as a temporary failure (SMTP 451, POP3 -ERR [SYS/TEMP]) instead of losing the session.
    private static MailboxStoreException Unavailable(Exception ex) =>
        ex is MailboxStoreException store ? store
        : DurableIO.IsDiskFull(ex) ? new MailboxStoreException(MailboxStoreError.InsufficientStorage, "The mail storage is full.", ex)
        : new MailboxStoreException(MailboxStoreError.Unavailable, "The Maildir could not be read or written.", ex);

    // Runs a store operation under the user's lock, reporting file-system trouble as the store's own error, and publishes
    // what it changed before the lock is let go: its own changes as the session's, others' it came across for everyone.
    private static T Locked<T>(UserMailbox mailbox, Func<T> operation, MailboxSubscription? session = null)
    {
        mailbox.Changes.Check(session);
        try
        {
            lock (mailbox.Gate)
            {
                try
                {
                    return operation();
                }
                finally
                {
                    mailbox.Flush(session);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
    }

    private UserMailbox Get(string user)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var name = FolderNames.UserDirectoryName(user); // the login's normal form, checked for use as a directory
        if (_users.TryGetValue(name, out var mailbox))
        {
            return mailbox;
        }
        var directory = Path.Combine(_root, name);
        // Created once under a lock: a second UserMailbox would collide with the first one's lock file.
        lock (_users)
        {
            try
            {
                return _users.GetOrAdd(name, _ => new UserMailbox(user, directory, this));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw Unavailable(ex);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        return Locked(mailbox, () =>
        {
            var names = new List<string> { FolderNames.Inbox };
            foreach (var directory in Directory.EnumerateDirectories(mailbox.Directory))
            {
                if (FolderNames.FromDirectoryName(Path.GetFileName(directory)) is { } name && MaildirFolder.Exists(directory))
                {
                    names.Add(name);
                }
            }
            // A parent that is no Maildir of its own (deleted, or never made by another program) is listed as \Noselect.
            return ValueTask.FromResult(FolderTree.Build(names.Select(n => new FolderInfo(n, mailbox.Folder(n).Index.SpecialUse, false)), FolderNames.Separator));
        });
    }

    /// <inheritdoc />
    public ValueTask<FolderInfo> CreateFolderAsync(string user, string folder, SpecialUse specialUse = SpecialUse.None, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        var name = FolderNames.Normalize(folder);
        var directory = mailbox.DirectoryOf(name);
        return Locked(mailbox, () =>
        {
            if (MaildirFolder.Exists(directory))
            {
                throw new MailboxStoreException(MailboxStoreError.FolderExists, $"Folder '{folder}' already exists.");
            }
            var levels = name.Split(FolderNames.Separator);
            for (var i = 1; i < levels.Length; i++)
            {
                var parent = string.Join(FolderNames.Separator, levels[..i]);
                if (!MaildirFolder.Exists(mailbox.DirectoryOf(parent)))
                {
                    MaildirFolder.Create(mailbox.DirectoryOf(parent), isSubfolder: true, _options);
                    mailbox.Folder(parent);
                }
            }
            MaildirFolder.Create(directory, isSubfolder: true, _options);
            var created = mailbox.Folder(name, specialUse);
            mailbox.Publish(new MailboxChange(MailboxChangeKind.FolderCreated, name, created.Index.UidValidity, 0, 0), external: true);
            return ValueTask.FromResult(new FolderInfo(name, specialUse, false));
        });
    }

    /// <inheritdoc />
    public ValueTask RenameFolderAsync(string user, string folder, string newName, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        var from = FolderNames.Normalize(folder);
        var to = FolderNames.Normalize(newName);
        var target = mailbox.DirectoryOf(to);
        uint uidValidity = 0;
        return Locked(mailbox, () =>
        {
            var source = mailbox.Folder(from);
            if (MaildirFolder.Exists(target))
            {
                throw new MailboxStoreException(MailboxStoreError.FolderExists, $"Folder '{newName}' already exists.");
            }
            if (from == FolderNames.Inbox)
            {
                // RFC 3501 §6.3.5: the messages move to the new folder (with new UIDs there), INBOX stays, empty.
                MaildirFolder.Create(target, isSubfolder: true, _options);
                // The file names' keyword letters mean what INBOX's numbering says; the new folder takes it along.
                var keywords = Path.Combine(source.Directory, KeywordFile.FileName);
                if (File.Exists(keywords))
                {
                    DurableIO.WriteAtomically(Path.Combine(target, KeywordFile.FileName), File.ReadAllBytes(keywords), _options.Fsync, _options.FilePermissions);
                }
                foreach (var sub in s_messageDirectories)
                {
                    foreach (var file in Directory.EnumerateFiles(Path.Combine(source.Directory, sub)))
                    {
                        File.Move(file, Path.Combine(target, sub, Path.GetFileName(file)));
                    }
                }
                source.Reconcile(notify: true); // INBOX keeps its UIDVALIDITY and UIDNEXT; its subscribers hear the expunges
                var created = mailbox.Folder(to);
                if (_options.Fsync)
                {
                    DurableIO.SyncDirectory(mailbox.Directory);
                }
                mailbox.Publish(new MailboxChange(MailboxChangeKind.FolderCreated, to, created.Index.UidValidity, 0, 0), external: true);
                return ValueTask.CompletedTask;
            }
            else
            {
                uidValidity = source.Index.UidValidity;
                var prefix = Path.GetFileName(source.Directory);
                var moves = Directory.EnumerateDirectories(mailbox.Directory)
                    .Select(Path.GetFileName)
                    .Where(d => d == prefix || d!.StartsWith(prefix + ".", StringComparison.Ordinal))
                    .ToList();
                foreach (var directoryName in moves)
                {
                    mailbox.Close(Path.Combine(mailbox.Directory, directoryName!));
                    Directory.Move(Path.Combine(mailbox.Directory, directoryName!), target + directoryName![prefix.Length..]);
                }
            }
            if (_options.Fsync)
            {
                DurableIO.SyncDirectory(mailbox.Directory);
            }
            mailbox.Publish(new MailboxChange(MailboxChangeKind.FolderRenamed, from, uidValidity, 0, 0, null, to), external: true);
            return ValueTask.CompletedTask;
        });
    }

    /// <inheritdoc />
    public ValueTask DeleteFolderAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        var name = FolderNames.Normalize(folder);
        if (name == FolderNames.Inbox)
        {
            throw new MailboxStoreException(MailboxStoreError.NotAllowed, "INBOX cannot be deleted.");
        }
        return Locked(mailbox, () =>
        {
            var open = mailbox.Folder(name);
            mailbox.Close(open.Directory);
            Directory.Delete(open.Directory, recursive: true);
            if (_options.Fsync)
            {
                DurableIO.SyncDirectory(mailbox.Directory);
            }
            mailbox.Publish(new MailboxChange(MailboxChangeKind.FolderDeleted, name, open.Index.UidValidity, 0, 0), external: true);
            return ValueTask.CompletedTask;
        });
    }

    /// <summary>Closes every index and releases the users' lock files.</summary>
    public void Dispose()
    {
        _disposed = true;
        _poll?.Dispose();
        foreach (var mailbox in _users.Values)
        {
            mailbox.Dispose();
        }
        _users.Clear();
    }

    /// <summary>One user's Maildir: its lock file, its open folders and subscribers. Everything under <see cref="Gate"/>.</summary>
    private sealed class UserMailbox : IDisposable
    {
        private readonly MaildirMailboxStore _store;
        private readonly Dictionary<string, MaildirFolder> _open = new(StringComparer.Ordinal);
        private readonly FileStream _lock;

        public UserMailbox(string user, string directory, MaildirMailboxStore store)
        {
            User = user;
            Directory = directory;
            _store = store;
            Changes = new MailboxChangeHub(user, FolderNames.Separator);
            if (!MaildirFolder.Exists(directory))
            {
                MaildirFolder.Create(directory, isSubfolder: false, store._options);
            }
            try
            {
                // One writer per user's index: the kernel drops this lock when the process dies, even by kill -9.
                _lock = DurableIO.Open(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, store._options.FilePermissions);
            }
            catch (IOException ex)
            {
                throw new MailboxStoreException(MailboxStoreError.Unavailable, $"The Maildir of {user} is in use by another process.", ex);
            }
        }

        private readonly Lock _gate = new();

        public Lock Gate
        {
            get
            {
                Interlocked.Increment(ref _store._gateEntries); // counted for tests (GateEntries)
                return _gate;
            }
        }
        public string User { get; }
        public string Directory { get; }
        public MailboxChangeHub Changes { get; }

        public string DirectoryOf(string folder)
        {
            var name = FolderNames.ToDirectoryName(folder);
            return name.Length == 0 ? Directory : Path.Combine(Directory, name);
        }

        /// <summary>The open folder, opening it first if needed; throws FolderNotFound if its Maildir does not exist.</summary>
        public MaildirFolder Folder(string folder, SpecialUse specialUseIfNew = SpecialUse.None)
        {
            var name = FolderNames.Normalize(folder);
            var directory = DirectoryOf(name);
            if (_open.TryGetValue(directory, out var open))
            {
                if (MaildirFolder.Exists(directory))
                {
                    return open;
                }
                Close(directory); // deleted by another program
            }
            if (!MaildirFolder.Exists(directory))
            {
                throw new MailboxStoreException(MailboxStoreError.FolderNotFound, $"Folder '{folder}' does not exist.");
            }
            var opened = MaildirFolder.Open(User, name, directory, specialUseIfNew, NewUidValidity, _store._options, _store._logger, (change, external) => Publish(change, external));
            _open[directory] = opened;
            return opened;
        }

        // The last UIDVALIDITY given out in this Maildir is kept in a file (as Dovecot keeps dovecot-uidvalidity):
        // the clock alone repeats a value when a folder is deleted and created again in the second after a restart.
        private uint NewUidValidity()
        {
            var path = Path.Combine(Directory, UidValidityFileName);
            uint recorded = 0;
            if (File.Exists(path))
            {
                _ = uint.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out recorded);
            }
            var next = _store.NewUidValidity(recorded);
            DurableIO.WriteAtomically(path, Encoding.ASCII.GetBytes(next.ToString(CultureInfo.InvariantCulture) + "\n"), _store._options.Fsync, _store._options.FilePermissions);
            return next;
        }

        public void RefreshOpenFolders()
        {
            foreach (var (directory, folder) in _open.ToList())
            {
                if (MaildirFolder.Exists(directory))
                {
                    folder.Refresh();
                }
            }
        }

        public void Close(string directory)
        {
            if (_open.Remove(directory, out var folder))
            {
                folder.Dispose();
            }
        }

        // Changes recorded under the lock and published by Flush before it is let go, so that one call's changes of one folder
        // make one batch. A change another program made (found by a re-scan) is never a session's own.
        private readonly List<(MailboxChange Change, bool External)> _pending = [];

        public void Publish(MailboxChange change, bool external) => _pending.Add((change, external));

        /// <summary>Flushes when disposed (a <c>using</c> inside a <c>lock (Gate)</c> block, so it runs before the lock is let go).</summary>
        public FlushOnExit PublishOnExit(MailboxSubscription? session) => new(this, session);

        public readonly struct FlushOnExit(UserMailbox mailbox, MailboxSubscription? session) : IDisposable
        {
            public void Dispose() => mailbox.Flush(session);
        }

        /// <summary>Publishes the recorded changes in order, those not external as <paramref name="session"/>'s own. Under the lock.</summary>
        public void Flush(MailboxSubscription? session)
        {
            var start = 0;
            while (start < _pending.Count)
            {
                var external = _pending[start].External;
                var end = start + 1;
                while (end < _pending.Count && _pending[end].External == external)
                {
                    end++;
                }
                Changes.Publish([.. _pending.Skip(start).Take(end - start).Select(p => p.Change)], external ? null : session);
                start = end;
            }
            _pending.Clear();
        }

        public void Dispose()
        {
            lock (Gate)
            {
                foreach (var folder in _open.Values)
                {
                    folder.Dispose();
                }
                _open.Clear();
                _lock.Dispose();
            }
        }
    }
}
