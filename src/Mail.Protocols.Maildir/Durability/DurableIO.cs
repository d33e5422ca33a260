using System.Buffers;
using System.Runtime.InteropServices;

using Mail.Protocols.Maildir.Layout;

namespace Mail.Protocols.Maildir.Durability;

/// <summary>
/// The few file-system steps a crash-safe write needs: flush a file to the disk, make a rename durable by
/// syncing its directory, and tell "the disk is full" apart from other I/O errors.
/// </summary>
internal static partial class DurableIO
{
    private const int ENOENT = 2;
    private const int ENOSPC = 28;
    private const int EDQUOT = 122;

    /// <summary>Whether an exception means the file system or the user's quota is full.</summary>
    public static bool IsDiskFull(Exception exception) =>
        exception is IOException { HResult: var hr } && (hr & 0xFFFF) is ENOSPC or EDQUOT;

    /// <summary>
    /// Renames a file within one file system, replacing nothing that matters: Maildir names are unique, so the
    /// target never exists. It is one rename(2), where <see cref="File.Move(string, string)"/> adds two lstat calls
    /// and path normalisation to emulate Windows semantics; on a folder whose messages all get a flag at once (a
    /// POP3 QUIT marking 10,000 downloads seen) that was a third of the CPU. Throws
    /// <see cref="FileNotFoundException"/> when the source is gone (another program renamed or removed it).
    /// </summary>
    public static void Rename(string source, string target)
    {
        if (OperatingSystem.IsWindows())
        {
            File.Move(source, target);
            return;
        }
        if (Native.Rename(source, target) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno == ENOENT
                ? new FileNotFoundException($"'{source}' is gone.", source)
                : new IOException($"rename of '{source}' to '{target}' failed (errno {errno}).", errno);
        }
    }

    /// <summary>
    /// Makes the entries of a directory (a rename or unlink inside it) durable. A rename is atomic without
    /// this, but only this makes it survive a power loss. A no-op on Windows, where NTFS journals metadata.
    /// </summary>
    public static void SyncDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var fd = Native.Open(path, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{path}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }
        try
        {
            if (Native.FSync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync of directory '{path}' failed (errno {errno}).", errno);
            }
        }
        finally
        {
            _ = Native.Close(fd);
        }
    }

    /// <summary>
    /// Copies a message into a file and returns how many bare LFs (not after a CR) it has. A seekable source (a
    /// memory or file spool, as SMTP hands over) is read synchronously, a network stream asynchronously; the
    /// file is always written in place: .NET runs asynchronous writes to a regular file on the thread pool, and
    /// those hand-offs cost far more CPU than writing a page-cache-bound file directly.
    /// </summary>
    public static async ValueTask<long> CopyToFileAsync(Stream source, FileStream file, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long bareLineFeeds = 0;
            var endedWithCr = false;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var read = source.CanSeek
                    ? source.Read(buffer, 0, 64 * 1024)
                    : await source.ReadAsync(buffer.AsMemory(0, 64 * 1024), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return bareLineFeeds;
                }
                var chunk = buffer.AsSpan(0, read);
                bareLineFeeds += LineEnds.BareLineFeeds(chunk, endedWithCr);
                endedWithCr = chunk[^1] == '\r';
                file.Write(chunk);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Opens a file with <paramref name="mode"/>; a file it creates gets <paramref name="permissions"/> from the start
    /// (open(2) with that mode, which the umask can only narrow), so it is never readable by others, even briefly.
    /// </summary>
    public static FileStream Open(string path, FileMode mode, FileAccess access, FileShare share, UnixFileMode permissions,
        int bufferSize = 1, FileOptions options = FileOptions.None)
    {
        var settings = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = bufferSize, Options = options };
        if (!OperatingSystem.IsWindows() && mode is not (FileMode.Open or FileMode.Truncate))
        {
            settings.UnixCreateMode = permissions;
        }
        return new FileStream(path, settings);
    }

    /// <summary>
    /// Creates a directory and its missing parents, each with <paramref name="permissions"/> (the framework's overload
    /// gives the mode to the last level only); directories that exist are left as they are.
    /// </summary>
    public static void CreateDirectory(string path, UnixFileMode permissions)
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
            Directory.CreateDirectory(level, permissions);
        }
    }

    /// <summary>Writes a small file atomically: to a temporary name beside it, flushed, then renamed over the target.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content, bool sync, UnixFileMode permissions)
    {
        var temporary = path + ".tmp";
        File.Delete(temporary); // a leftover of a crash would keep its old mode
        using (var stream = Open(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, permissions))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: sync);
        }
        File.Move(temporary, path, overwrite: true);
        if (sync)
        {
            SyncDirectory(Path.GetDirectoryName(path)!);
        }
    }

    private static partial class Native
    {
        static Native() => NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);

        private static IntPtr Resolve(string name, System.Reflection.Assembly assembly, DllImportSearchPath? path) =>
            name != "libc" ? IntPtr.Zero
            : OperatingSystem.IsLinux() ? NativeLibrary.Load("libc.so.6")
            : OperatingSystem.IsMacOS() ? NativeLibrary.Load("/usr/lib/libSystem.dylib")
            : IntPtr.Zero;

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static partial int FSync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        public static partial int Close(int fd);

        [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Rename(string source, string target);
    }
}
