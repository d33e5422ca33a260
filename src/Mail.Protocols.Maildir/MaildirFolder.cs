using System.IO.Enumeration;
using System.Runtime.CompilerServices;
using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Maildir.Index;
using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Maildir.Telemetry;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Maildir;

/// <summary>
/// One open folder: its Maildir directory (cur/, new/, tmp/), its index and keyword file, and the
/// reconciliation that keeps the index true to the files when other programs add, remove or re-flag them.
/// Not thread-safe: the store calls it under the user's lock.
/// </summary>
internal sealed class MaildirFolder : IDisposable
{
    // A directory whose mtime is this close to the time it was scanned may change again within the same
    // timestamp, so the next access scans it again (the trick Dovecot uses for its uidlist too).
    private static readonly TimeSpan s_dirtyWindow = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_staleTemporary = TimeSpan.FromHours(36);
    private readonly MaildirStoreOptions _options;
    private readonly ILogger _logger;
    private readonly Action<MailboxChange, bool> _publish; // the change, and whether another program made it
    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);
    private readonly KeywordFile _keywords;
    private DateTime _newMtime, _curMtime, _scannedAt;
    // The scan's records whose file is where and as the index has it (reused: a scan allocates nothing per such file).
    private readonly HashSet<MessageRecord> _unchanged = new(ReferenceEqualityComparer.Instance);
    private int _scannedKeywordsVersion = -1;

    private MaildirFolder(string user, string name, string directory, FolderIndex index, MaildirStoreOptions options, ILogger logger, Action<MailboxChange, bool> publish)
    {
        User = user;
        Name = name;
        Directory = directory;
        Index = index;
        _options = options;
        _logger = logger;
        _publish = publish;
        _keywords = new KeywordFile(directory, options.FilePermissions);
        Summaries = new SummaryCache(directory, index.UidValidity, options.FilePermissions);
    }

    public string User { get; }
    public string Name { get; }
    public string Directory { get; }
    public FolderIndex Index { get; }
    public SummaryCache Summaries { get; }

    private string NewDirectory => Path.Combine(Directory, "new");
    private string CurDirectory => Path.Combine(Directory, "cur");
    public string TmpDirectory => Path.Combine(Directory, "tmp");

    /// <summary>Whether a Maildir exists at <paramref name="directory"/>.</summary>
    public static bool Exists(string directory) => System.IO.Directory.Exists(Path.Combine(directory, "cur"));

    /// <summary>Creates the cur/new/tmp directories (and the Maildir++ "maildirfolder" marker for subfolders).</summary>
    public static void Create(string directory, bool isSubfolder, MaildirStoreOptions options)
    {
        foreach (var sub in new[] { "tmp", "new", "cur" })
        {
            DurableIO.CreateDirectory(Path.Combine(directory, sub), options.DirectoryPermissions);
        }
        if (isSubfolder)
        {
            DurableIO.Open(Path.Combine(directory, "maildirfolder"), FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, options.FilePermissions).Dispose();
        }
        if (options.Fsync)
        {
            DurableIO.SyncDirectory(directory);
            DurableIO.SyncDirectory(Path.GetDirectoryName(directory)!);
        }
    }

    /// <summary>Opens a folder: loads its index, removes stale temporary files and reconciles with the files present.</summary>
    public static MaildirFolder Open(string user, string name, string directory, SpecialUse specialUseIfNew, Func<uint> newUidValidity,
        MaildirStoreOptions options, ILogger logger, Action<MailboxChange, bool> publish)
    {
        var index = FolderIndex.Open(directory, specialUseIfNew, newUidValidity, options.Fsync, options.FilePermissions, logger, options.ExpungedUidsRemembered, options.Flushing);
        // A folder Dovecot served before keeps Dovecot's UIDVALIDITY and UIDs, so clients need not resync.
        var dovecot = index.IsFirstIndexing ? DovecotUidList.TryRead(directory) : null;
        if (dovecot is not null)
        {
            index.Adopt(dovecot.UidValidity, dovecot.NextUid);
        }
        var folder = new MaildirFolder(user, name, directory, index, options, logger, publish);
        folder.RemoveStaleTemporaryFiles();
        // Messages already there when the index is new (or rebuilt) keep their order, without notifications.
        folder.Reconcile(notify: false, dovecot?.UidsByBaseName);
        if (dovecot is not null)
        {
            MaildirLog.DovecotUidsAdopted(logger, directory, index.UidValidity, index.ByUid.Count(r => dovecot.UidsByBaseName.ContainsKey(r.Value.BaseName)), index.ByUid.Count);
        }
        return folder;
    }

    private void RemoveStaleTemporaryFiles()
    {
        var removed = 0;
        var cutoff = DateTime.UtcNow - s_staleTemporary;
        foreach (var file in new DirectoryInfo(TmpDirectory).EnumerateFiles())
        {
            if (file.LastWriteTimeUtc < cutoff)
            {
                file.Delete();
                removed++;
            }
        }
        if (removed > 0)
        {
            MaildirLog.StaleTemporaryFilesRemoved(_logger, TmpDirectory, removed);
        }
    }

    /// <summary>Scans the directories again if they changed since the last scan.</summary>
    public void Refresh()
    {
        var newMtime = System.IO.Directory.GetLastWriteTimeUtc(NewDirectory);
        var curMtime = System.IO.Directory.GetLastWriteTimeUtc(CurDirectory);
        var latest = newMtime > curMtime ? newMtime : curMtime;
        if (newMtime != _newMtime || curMtime != _curMtime || _scannedAt - latest < s_dirtyWindow)
        {
            Reconcile(notify: true);
        }
    }

    /// <summary>
    /// Brings the index in line with the files: a file without a UID gets one (in delivery order), a UID
    /// whose file is gone is expunged, and flags changed in a file name (by Dovecot, mutt, …) are taken over.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs for every message when a folder is opened, often before tiering kicks in
    public void Reconcile(bool notify, IReadOnlyDictionary<string, uint>? adoptedUids = null)
    {
        _scannedAt = DateTime.UtcNow;
        _newMtime = System.IO.Directory.GetLastWriteTimeUtc(NewDirectory);
        _curMtime = System.IO.Directory.GetLastWriteTimeUtc(CurDirectory);
        _keywords.Reload();
        // Names exactly as the index last saw them (the file as this store or the last scan left it) are taken in place,
        // without a string, a parse or a dictionary entry each; only the other names are parsed into `present`. A new
        // meaning of the keyword letters makes every name worth a look again.
        var sameLetters = _keywords.Version == _scannedKeywordsVersion;
        _scannedKeywordsVersion = _keywords.Version;
        var unchanged = _unchanged;
        unchanged.Clear();
        var present = new Dictionary<string, (MaildirFileName Name, string FileName, bool InNew)>(StringComparer.Ordinal);
        var byBase = Index.ByBase.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var inNew in new[] { true, false })
        {
            var directory = inNew ? NewDirectory : CurDirectory;
            var files = new FileSystemEnumerable<string?>(directory, (ref FileSystemEntry entry) =>
            {
                var fileName = entry.FileName;
                if (sameLetters)
                {
                    var colon = fileName.IndexOf(':');
                    if (byBase.TryGetValue(colon < 0 ? fileName : fileName[..colon], out var known)
                        && known.InNew == inNew && known.FileName is { } knownName && fileName.SequenceEqual(knownName))
                    {
                        unchanged.Add(known);
                        return null;
                    }
                }
                return fileName.ToString();
            })
            { ShouldIncludePredicate = (ref FileSystemEntry entry) => !entry.IsDirectory };
            foreach (var fileName in files)
            {
                if (fileName is null)
                {
                    continue;
                }
                if (!MaildirFileName.TryParse(fileName, out var name))
                {
                    var path = Path.Combine(directory, fileName);
                    if (_warned.Add(path))
                    {
                        MaildirLog.MalformedFileName(_logger, path);
                    }
                    continue;
                }
                // A file caught between new/ and cur/ by another program's rename counts once, as in cur/ (read second).
                present[name.BaseName] = (name, fileName, inNew);
            }
        }
        // A name seen both unchanged and changed (a file in new/ and in cur/, or twice in cur/): cur/ wins, else the unchanged one.
        var known = 0;
        foreach (var (baseName, found) in present)
        {
            if (!Index.ByBase.TryGetValue(baseName, out var record))
            {
                continue;
            }
            if (!unchanged.Contains(record))
            {
                known++;
            }
            else if (record.InNew && !found.InNew)
            {
                unchanged.Remove(record);
                known++;
            }
            else
            {
                present.Remove(baseName);
            }
        }

        var removed = 0;
        if (unchanged.Count + known != Index.ByBase.Count)
        {
            foreach (var record in Index.ByBase.Values.Where(r => !unchanged.Contains(r) && !present.ContainsKey(r.BaseName)).OrderBy(r => r.Uid).ToList())
            {
                var modSeq = Index.Remove(record);
                removed++;
                if (notify)
                {
                    _publish(new MailboxChange(MailboxChangeKind.MessageExpunged, Name, Index.UidValidity, record.Uid, modSeq), true);
                }
            }
        }
        unchanged.Clear();

        var added = new List<(string BaseName, FileInfo File)>();
        foreach (var (baseName, found) in present)
        {
            if (!Index.ByBase.TryGetValue(baseName, out var record))
            {
                added.Add((baseName, new FileInfo(Path.Combine(found.InNew ? NewDirectory : CurDirectory, found.FileName))));
                continue;
            }
            record.FileName = found.FileName;
            record.InNew = found.InNew;
            // Most files carry no keyword letters and their record no keywords: nothing to work out then.
            var keywords = found.Name.KeywordLetters.Length == 0 && record.Keywords.Length == 0 ? record.Keywords : KeywordsFromName(found.Name, record.Keywords);
            if (record.Flags != found.Name.Flags || record.Passed != found.Name.Passed || !SameKeywords(record.Keywords, keywords))
            {
                record.Flags = found.Name.Flags;
                record.Passed = found.Name.Passed;
                record.Keywords = keywords;
                Index.FlagsChanged(record);
                if (notify)
                {
                    _publish(new MailboxChange(MailboxChangeKind.FlagsChanged, Name, Index.UidValidity, record.Uid, record.ModSeq, record.Info), true);
                }
            }
        }

        // New files get UIDs in the order they arrived; files another server had numbered keep its UIDs, first.
        uint? AdoptedUid(string baseName) => adoptedUids is not null && adoptedUids.TryGetValue(baseName, out var uid) ? uid : null;
        foreach (var (baseName, file) in added
            .OrderBy(a => AdoptedUid(a.BaseName) ?? uint.MaxValue)
            .ThenBy(a => a.File.LastWriteTimeUtc).ThenBy(a => a.BaseName, StringComparer.Ordinal))
        {
            var found = present[baseName];
            long size, fileSize;
            DateTimeOffset date;
            try
            {
                // Another program's file may have LF line ends; it is counted (and served) with CRLF.
                size = found.Name.WireSizeFromName() ?? LineEnds.WireSize(file.FullName);
                fileSize = file.Length;
                date = DateTimeOffset.FromUnixTimeSeconds(new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero).ToUnixTimeSeconds());
            }
            catch (FileNotFoundException)
            {
                continue; // gone again already
            }
            var record = Index.Add(baseName, date, size, found.Name.Flags, found.Name.Passed, KeywordsFromName(found.Name, []), AdoptedUid(baseName));
            record.FileName = found.FileName;
            record.InNew = found.InNew;
            record.FileSize = fileSize;
            if (notify)
            {
                _publish(new MailboxChange(MailboxChangeKind.MessageAdded, Name, Index.UidValidity, record.Uid, record.ModSeq, record.Info), true);
            }
        }
        Index.Commit();
        if ((added.Count > 0 || removed > 0) && notify)
        {
            MaildirLog.ExternalChanges(_logger, Mail.Protocols.Telemetry.PersonalData.ForLog(User), Name, added.Count, removed);
        }
    }

    // Keywords with a letter come from the file name; those past the 26 letters only the index knows.
    private string[] KeywordsFromName(MaildirFileName name, string[] indexed) =>
        [.. _keywords.KeywordsOf(name.KeywordLetters).Concat(indexed.Where(k => !_keywords.HasLetter(k))).Distinct(StringComparer.OrdinalIgnoreCase)];

    private static bool SameKeywords(string[] a, string[] b) =>
        ReferenceEquals(a, b) || a.Length == b.Length && a.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(b);

    /// <summary>
    /// Moves a complete message file into the folder (new/ when it has no flags, cur/ with its info otherwise)
    /// and gives it a UID. The file must be on the same file system (tmp/ of this or another folder, or a
    /// message of another folder being moved).
    /// </summary>
    public MessageRecord Deliver(string sourcePath, string baseName, long size, long fileSize, DateTimeOffset internalDate, MessageFlags flags, bool passed, string[] keywords)
    {
        var letters = _keywords.LettersOf(keywords, _options.Fsync);
        var name = new MaildirFileName(baseName, flags, letters, passed);
        var toNew = flags == MessageFlags.None && letters.Length == 0 && !passed;
        var fileName = toNew ? baseName : name.ToCurName();
        var target = Path.Combine(toNew ? NewDirectory : CurDirectory, fileName);
        DurableIO.Rename(sourcePath, target);
        MessageRecord record;
        try
        {
            if (_options.Fsync)
            {
                DurableIO.SyncDirectory(Path.GetDirectoryName(target)!);
            }
            record = Index.Add(baseName, internalDate, size, flags, passed, keywords);
            record.FileName = fileName;
            record.InNew = toNew;
            record.FileSize = fileSize;
            Index.Commit();
        }
        catch
        {
            // Not recorded, so not delivered: take the file back out rather than leave a message nobody was told about.
            Index.Discard(baseName);
            DurableIO.Rename(target, sourcePath);
            throw;
        }
        _publish(new MailboxChange(MailboxChangeKind.MessageAdded, Name, Index.UidValidity, record.Uid, record.ModSeq, record.Info), false);
        return record;
    }

    /// <summary>Renames the file to carry new flags and records them; false if the file vanished (the caller refreshes).</summary>
    public bool SetFlags(MessageRecord record, MessageFlags flags, string[] keywords)
    {
        var letters = _keywords.LettersOf(keywords, _options.Fsync);
        var fileName = new MaildirFileName(record.BaseName, flags, letters, record.Passed).ToCurName();
        var source = record.PathIn(Directory);
        var target = Path.Combine(CurDirectory, fileName);
        if (source != target)
        {
            try
            {
                DurableIO.Rename(source, target);
            }
            catch (FileNotFoundException)
            {
                return false;
            }
        }
        record.FileName = fileName;
        record.InNew = false;
        record.Flags = flags;
        record.Keywords = keywords;
        Index.FlagsChanged(record);
        _publish(new MailboxChange(MailboxChangeKind.FlagsChanged, Name, Index.UidValidity, record.Uid, record.ModSeq, record.Info), false);
        return true;
    }

    /// <summary>Deletes a message's file and records the expunge.</summary>
    public void Remove(MessageRecord record, bool deleteFile = true)
    {
        if (deleteFile)
        {
            File.Delete(record.PathIn(Directory));
        }
        var modSeq = Index.Remove(record);
        _publish(new MailboxChange(MailboxChangeKind.MessageExpunged, Name, Index.UidValidity, record.Uid, modSeq), false);
    }

    /// <summary>
    /// Writes the recorded changes to the index and makes them durable (the renames in cur/ and the index lines). With
    /// <paramref name="flagsAndExpungesOnly"/> (a STORE or an EXPUNGE: no message arrived) they are flushed only when
    /// <see cref="MaildirStoreOptions.FsyncFlagsAndExpunges"/> asks for it, as Dovecot's <c>mail_fsync = optimized</c> does.
    /// </summary>
    public void Commit(bool flagsAndExpungesOnly = false)
    {
        var flush = _options.Fsync && (!flagsAndExpungesOnly || _options.FsyncFlagsAndExpunges);
        if (flush)
        {
            _options.Flushing?.Invoke(CurDirectory);
            DurableIO.SyncDirectory(CurDirectory);
        }
        Index.Commit(flush);
    }

    public void Dispose() => Index.Dispose();
}
