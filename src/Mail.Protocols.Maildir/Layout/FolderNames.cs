using Mail.Protocols.Storage;
using Mail.Protocols.Text;
using Mail.Protocols.Users;

namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// Maps folder names ("Archive/2026", '/' between levels) to Maildir++ directories (".Archive.2026" under the
/// user's Maildir, each level in modified UTF-7) and back. INBOX is the Maildir itself.
/// </summary>
internal static class FolderNames
{
    public const string Inbox = "INBOX";
    public const char Separator = '/';

    public static bool IsInbox(string folder) => string.Equals(folder, Inbox, StringComparison.OrdinalIgnoreCase);

    /// <summary>The canonical name: INBOX spelled in capitals, everything else as given.</summary>
    public static string Normalize(string folder) => IsInbox(folder) ? Inbox : folder;

    /// <summary>The directory name under the user's Maildir ("" for INBOX). Throws for names the layout cannot hold.</summary>
    public static string ToDirectoryName(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return TryGetDirectoryName(folder, out var directory, out var why) ? directory : throw Invalid(folder, why);
    }

    private static bool TryGetDirectoryName(string folder, out string directory, out string why)
    {
        directory = "";
        why = "";
        if (IsInbox(folder))
        {
            return true;
        }
        if (folder.Length is 0 or > 255 || folder.Any(char.IsControl))
        {
            why = "it is empty, too long or has control characters";
            return false;
        }
        var levels = folder.Split(Separator);
        foreach (var level in levels)
        {
            if (level.Length == 0)
            {
                why = "it has an empty level";
                return false;
            }
            // Maildir++ separates levels with '.', so a dot inside a level cannot be stored unambiguously.
            if (level.Contains('.', StringComparison.Ordinal))
            {
                why = "Maildir++ folder names cannot contain '.'";
                return false;
            }
        }
        var encoded = "." + string.Join('.', levels.Select(ModifiedUtf7.Encode));
        // Modified UTF-7 is ASCII: one octet a character. A longer name is no file name (NAME_MAX), and would fail at creation.
        if (encoded.Length > MaxDirectoryName)
        {
            why = $"its directory name would be longer than {MaxDirectoryName} octets";
            return false;
        }
        directory = encoded;
        return true;
    }

    // The longest file name Linux file systems take (NAME_MAX).
    private const int MaxDirectoryName = 255;

    /// <summary>
    /// The folder name of a Maildir++ directory, or null if the directory is not a folder. A directory is a folder only
    /// if it is exactly the one <see cref="ToDirectoryName"/> writes for that folder: ".INBOX" (in any case) is none,
    /// since INBOX is the Maildir itself and a second one would shadow it; nor is a name ToDirectoryName refuses (a control
    /// character or a dot inside a level, encoded in modified UTF-7; more than 255 octets), nor another spelling of a
    /// folder's name (modified UTF-7 split into two runs), since the store could list such a folder but neither select,
    /// rename nor delete it: each of those looks for the folder's own directory.
    /// </summary>
    public static string? FromDirectoryName(string directoryName)
    {
        ArgumentNullException.ThrowIfNull(directoryName);
        if (directoryName.Length is < 2 or > MaxDirectoryName || directoryName[0] != '.' || directoryName == "..")
        {
            return null;
        }
        var levels = directoryName[1..].Split('.');
        var decoded = new string[levels.Length];
        for (var i = 0; i < levels.Length; i++)
        {
            if (levels[i].Length == 0 || ModifiedUtf7.Decode(levels[i]) is not { } level)
            {
                return null;
            }
            decoded[i] = level;
        }
        var name = string.Join(Separator, decoded);
        return !IsInbox(name) && TryGetDirectoryName(name, out var canonical, out _)
            && string.Equals(canonical, directoryName, StringComparison.Ordinal) ? name : null;
    }

    /// <summary>
    /// The directory of a user's Maildir: the login's normal form (<see cref="UserName.Normalize"/>), so two
    /// logins share a Maildir exactly when they are one user; refused if it is not valid Unicode or could escape the root.
    /// </summary>
    public static string UserDirectoryName(string user)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        if (!UserName.TryNormalize(user, out var name) ||
            name is "." or ".." || name[0] == '.' || name.Any(c => c is '/' or '\\' || char.IsControl(c)) || name.Length > 255)
        {
            throw new MailboxStoreException(MailboxStoreError.InvalidName, "The user name cannot be used as a Maildir directory.");
        }
        return name;
    }

    private static MailboxStoreException Invalid(string folder, string why) =>
        new(MailboxStoreError.InvalidName, $"Invalid folder name '{folder}': {why}.");
}
