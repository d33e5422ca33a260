namespace Mail.Protocols.Maildir.Tests.Interop;

/// <summary>Our Maildir store on the Maildirs the shared <see cref="DovecotFixture"/> serves.</summary>
internal static class DovecotStoreOptions
{
    /// <summary>
    /// Options for a store on <see cref="DovecotFixture.MailRoot"/> that Dovecot can share. The store's default modes
    /// (files 0600, directories 0700) leave the Maildir to its owner; when the tests run as root, Dovecot's mail
    /// processes run as nobody in group root (see <see cref="DovecotFixture"/>'s remarks), so the store is told to give
    /// the group read and write (files 0660, directories 0770), as an operator sharing a Maildir through a group would.
    /// As another user, Dovecot runs as that same user and the private defaults are kept.
    /// </summary>
    public static MaildirStoreOptions StoreOptions(this DovecotFixture dovecot, string hostName)
    {
        var options = new MaildirStoreOptions { RootPath = dovecot.MailRoot, HostName = hostName };
        if (DovecotFixture.RunsAsRoot)
        {
            options.FilePermissions = (UnixFileMode)0b110_110_000;
            options.DirectoryPermissions = (UnixFileMode)0b111_111_000;
        }
        return options;
    }
}
