using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;

namespace CustomMailboxStore;

// What FileMailboxStore keeps on disk, and the few file operations everything else is built from.
//
//   <root>/.tmp/                          appends are written here first (a user directory never starts with '.')
//   <root>/<user>/folders.json            the user's folders (name, special use, directory) and subscriptions
//   <root>/<user>/<uidvalidity>/index.json    one folder: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, its messages
//   <root>/<user>/<uidvalidity>/<uid>.eml     one message, exactly as received

/// <summary>folders.json: every folder of one user. Folder names live only here, so they need no escaping.</summary>
internal sealed class FolderList
{
    /// <summary>The UIDVALIDITY the next new folder gets. Persisted, so a re-created folder never gets an old value.</summary>
    public uint NextUidValidity { get; set; }

    public List<FolderEntry> Folders { get; set; } = [];

    /// <summary>The names the user subscribed to (IMAP SUBSCRIBE), in ordinal order; they need not be folders.</summary>
    public List<string> Subscriptions { get; set; } = [];
}

/// <summary>A folder's name and where its files are. Renaming a folder changes only <see cref="Name"/>.</summary>
internal sealed record FolderEntry(string Name, SpecialUse SpecialUse, string Directory)
{
    /// <summary>The folder's UIDVALIDITY, which names its directory.</summary>
    [JsonIgnore]
    public uint UidValidity => uint.Parse(Directory, CultureInfo.InvariantCulture);
}

/// <summary>index.json: the counters and messages of one folder, in ascending UID order.</summary>
internal sealed class FolderIndex
{
    public uint UidValidity { get; set; }
    public uint UidNext { get; set; } = 1;
    public ulong HighestModSeq { get; set; } = 1;
    public List<MessageEntry> Messages { get; set; } = [];

    /// <summary>Expunged UIDs with the MODSEQ of their expunge, oldest first (for QRESYNC VANISHED), at most <see cref="ExpungedCapacity"/>.</summary>
    public List<ExpungedEntry> Expunged { get; set; } = [];

    /// <summary>Expunges up to this MODSEQ are forgotten; null in an index written before expunges were kept (then all up to its HIGHESTMODSEQ are).</summary>
    public ulong? ExpungesForgottenThrough { get; set; }

    public const int ExpungedCapacity = 10_000;
}

/// <summary>One remembered expunge of index.json.</summary>
internal sealed record ExpungedEntry(uint Uid, ulong ModSeq);

/// <summary>One message of index.json; its content is <see cref="File"/> in the folder's directory.</summary>
internal sealed record MessageEntry(uint Uid, MessageFlags Flags, string[] Keywords, DateTimeOffset InternalDate, ulong ModSeq, long Size, string File)
{
    public MessageInfo ToInfo() => new(Uid, Flags, Keywords, InternalDate, Size, ModSeq);
}

internal static class MailboxFiles
{
    public const string FolderListFile = "folders.json";
    public const string IndexFile = "index.json";

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true, // the files are meant to be looked at
        Converters = { new JsonStringEnumConverter() },
    };

    public static T Read<T>(string path) =>
        JsonSerializer.Deserialize<T>(File.ReadAllBytes(path), s_json) ?? throw new JsonException($"{path} is empty.");

    /// <summary>
    /// Replaces <paramref name="path"/> all at once: write a temp file, flush it to the disk, rename it over
    /// the old one. A crash or a full disk leaves the old file intact, never half of the new one.
    /// </summary>
    public static void WriteAtomically<T>(string path, T value)
    {
        var temp = path + ".tmp"; // a fixed name is safe: callers hold the user's lock
        try
        {
            using (var file = CreateFile(temp, FileMode.Create)) // a leftover of a crash is overwritten
            {
                JsonSerializer.Serialize(file, value, s_json);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            DeleteQuietly(temp);
            throw;
        }
    }

    /// <summary>Copies a message file and flushes the copy, so an index that names it never outlives its content.</summary>
    public static void CopyDurably(string source, string destination)
    {
        using var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        using var to = CreateFile(destination, FileMode.Create); // a leftover of a crash (no index names it) is overwritten
        from.CopyTo(to);
        to.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Opens a file for writing, created with mode 0600: mail is for its owner only. The mode is given to open(2), so
    /// the umask can narrow it but never widen it, and a new file is never readable by others, not even briefly.
    /// </summary>
    public static FileStream CreateFile(string path, FileMode mode, int bufferSize = 4096, bool useAsync = false)
    {
        var options = new FileStreamOptions
        {
            Mode = mode,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = bufferSize,
            Options = useAsync ? FileOptions.Asynchronous : FileOptions.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return new FileStream(path, options);
    }

    /// <summary>Creates a directory and its missing parents, each of mode 0700 (existing ones keep theirs).</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        var missing = new Stack<string>();
        for (var level = Path.GetFullPath(path); !Directory.Exists(level); level = Path.GetDirectoryName(level)!)
        {
            missing.Push(level);
        }
        while (missing.TryPop(out var level))
        {
            Directory.CreateDirectory(level, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Cleanup of a file or directory the indexes no longer name: a failure leaves garbage, not an error.</summary>
    public static void DeleteQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Disk or quota full: ENOSPC (28) on Unix, EDQUOT (122) on Linux, ERROR_DISK_FULL (112) on Windows.</summary>
    public static bool IsDiskFull(Exception ex) => ex is IOException && (ex.HResult & 0xFFFF) is 28 or 122 or 112;

    /// <summary>Turns a file-system failure into the error the protocols understand: SMTP answers 452 to the first, 451 to the second.</summary>
    public static MailboxStoreException ToStoreError(Exception ex) => IsDiskFull(ex)
        ? new MailboxStoreException(MailboxStoreError.InsufficientStorage, "The mail storage is full.", ex)
        : new MailboxStoreException(MailboxStoreError.Unavailable, $"The mailbox files could not be read or written: {ex.Message}", ex);

    /// <summary>
    /// Maps a login to a directory name. Logins are one user exactly when their normal forms are equal
    /// (<see cref="UserName.Normalize"/>, as in the user directory and the other stores), so the name is made from
    /// that form; every byte outside a small safe set becomes %XX, so '/', '\', control characters and non-ASCII
    /// letters cannot escape the root or collide. A leading '.' is encoded too, which rules out "." and ".." and
    /// keeps user directories apart from ".tmp".
    /// </summary>
    public static string UserDirectoryName(string user)
    {
        if (!UserName.TryNormalize(user, out var normalized))
        {
            throw new MailboxStoreException(MailboxStoreError.InvalidName, "The user name is not valid Unicode.");
        }
        var name = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(normalized))
        {
            var safe = b is >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'@' or (byte)'-' or (byte)'_' or (byte)'+'
                || (b == (byte)'.' && name.Length > 0);
            name.Append(safe ? $"{(char)b}" : $"%{b:X2}");
        }
        // Most file systems allow 255 bytes per name.
        return name.Length <= 255 ? name.ToString() : throw new MailboxStoreException(MailboxStoreError.InvalidName, "The user name is too long.");
    }
}
