using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir;

// Subscriptions and special use set later: the folder-list additions IMAP needs.
public sealed partial class MaildirMailboxStore
{
    /// <inheritdoc />
    /// <remarks>Read from the "subscriptions" file in the user's Maildir, which Dovecot shares (see docs/maildir.md).</remarks>
    public ValueTask<IReadOnlyList<string>> ListSubscriptionsAsync(string user, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        return Locked(mailbox, () => ValueTask.FromResult(SubscriptionFile.Read(mailbox.Directory)));
    }

    /// <inheritdoc />
    public ValueTask AddSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        SetSubscription(user, folder, subscribe: true);

    /// <inheritdoc />
    public ValueTask RemoveSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        SetSubscription(user, folder, subscribe: false);

    private ValueTask SetSubscription(string user, string folder, bool subscribe)
    {
        FolderNames.ToDirectoryName(folder); // a name no folder could have is refused (InvalidName)
        var name = FolderNames.Normalize(folder);
        var mailbox = Get(user);
        return Locked(mailbox, () =>
        {
            SubscriptionFile.Set(mailbox.Directory, name, subscribe, _options.Fsync, _options.FilePermissions);
            return ValueTask.CompletedTask;
        });
    }

    /// <inheritdoc />
    public ValueTask SetSpecialUseAsync(string user, string folder, SpecialUse specialUse, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        return Locked(mailbox, () =>
        {
            var index = mailbox.Folder(folder).Index;
            index.SetSpecialUse(specialUse);
            index.Commit();
            return ValueTask.CompletedTask;
        });
    }
}
