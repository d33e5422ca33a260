namespace Mail.Protocols.Maildir.Durability;

/// <summary>The default modes of what the store and the queue create, and the check of configured ones.</summary>
internal static class FilePermissionsCheck
{
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode PrivateDirectory = PrivateFile | UnixFileMode.UserExecute;

    private const UnixFileMode ReadWriteExecute = (UnixFileMode)0b111_111_111;

    /// <summary>Returns <paramref name="mode"/>, refusing set-user-ID, set-group-ID and sticky bits.</summary>
    public static UnixFileMode Valid(UnixFileMode mode) =>
        (mode & ~ReadWriteExecute) == 0
            ? mode
            : throw new ArgumentOutOfRangeException(nameof(mode), mode, "Only read, write and execute permissions can be given.");
}
