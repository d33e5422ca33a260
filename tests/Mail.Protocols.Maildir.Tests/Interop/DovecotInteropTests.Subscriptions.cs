using System.Text;
using MailKit;

namespace Mail.Protocols.Maildir.Tests.Interop;

public sealed partial class DovecotInteropTests
{
    /// <summary>
    /// Our store and Dovecot share the Maildir's "subscriptions" file: what our store subscribes, Dovecot's LSUB
    /// lists; what Dovecot's IMAP SUBSCRIBE and UNSUBSCRIBE change, our store lists.
    /// </summary>
    [Fact]
    public async Task Subscriptions_made_by_either_side_are_listed_by_the_other()
    {
        var ct = Timeout();
        await using var scenario = await Scenario.StartAsync(dovecot, ct);
        var (store, login) = (scenario.Store, scenario.Login);
        await store.CreateFolderAsync(login, "Entwürfe", cancellationToken: ct);
        await store.CreateFolderAsync(login, "Projekte/Größe Q3", cancellationToken: ct);
        await store.AddSubscriptionAsync(login, "inbox", ct);
        await store.AddSubscriptionAsync(login, "Entwürfe", ct);
        await store.AddSubscriptionAsync(login, "Archive/2026", ct); // no such folder: still subscribed

        var log = new TranscriptLogger();
        using (var imap = await dovecot.ConnectAsync(login, scenario.Password, ct, log))
        {
            var subscribed = await imap.GetFoldersAsync(imap.PersonalNamespaces[0], StatusItems.None, subscribedOnly: true, ct);
            Assert.True(new[] { "Archive/2026", "Entwürfe", "INBOX" }.SequenceEqual(subscribed.Select(f => f.FullName).Order(StringComparer.Ordinal)),
                "Dovecot's subscribed folders:\n" + log.Transcript);

            await (await imap.GetFolderAsync("Projekte/Größe Q3", ct)).SubscribeAsync(ct);
            await (await imap.GetFolderAsync("Entwürfe", ct)).UnsubscribeAsync(ct);
            await imap.DisconnectAsync(true, ct);
        }

        Assert.Equal(["Archive/2026", "INBOX", "Projekte/Größe Q3"], await store.ListSubscriptionsAsync(login, ct));
        // Dovecot's format 2: a header line and an empty line, then names with TAB between levels, in modified UTF-7.
        var file = await File.ReadAllTextAsync(Path.Combine(scenario.UserDirectory, "subscriptions"), Encoding.UTF8, ct);
        Assert.StartsWith("V\t2\n\n", file, StringComparison.Ordinal);
        Assert.Contains("\nProjekte\tGr&APYA3w-e Q3\n", file, StringComparison.Ordinal);
    }

    /// <summary>
    /// A parent deleted while its child stays is a name without a folder on both sides: Dovecot lists the parent our
    /// store deleted as <c>\NonExistent \HasChildren</c> (RFC 5258: \NonExistent implies \Noselect), and our store
    /// lists the parent Dovecot deleted with <see cref="Storage.FolderAttributes.NoSelect"/>.
    /// </summary>
    [Fact]
    public async Task A_parent_deleted_by_either_side_is_a_noselect_name_for_the_other()
    {
        var ct = Timeout();
        await using var scenario = await Scenario.StartAsync(dovecot, ct);
        var (store, login) = (scenario.Store, scenario.Login);
        await store.CreateFolderAsync(login, "Ours/Child", cancellationToken: ct);
        await store.CreateFolderAsync(login, "Theirs/Child", cancellationToken: ct);
        await store.DeleteFolderAsync(login, "Ours", ct);

        var log = new TranscriptLogger();
        using (var imap = await dovecot.ConnectAsync(login, scenario.Password, ct, log))
        {
            var ours = await imap.GetFolderAsync("Ours", ct);
            Assert.True(ours.Attributes == (FolderAttributes.NonExistent | FolderAttributes.HasChildren), $"Dovecot's attributes of Ours: {ours.Attributes}\n{log.Transcript}");
            await (await imap.GetFolderAsync("Theirs", ct)).DeleteAsync(ct);
            await imap.DisconnectAsync(true, ct);
        }

        var folders = await store.ListFoldersAsync(login, ct);
        Assert.Equal(["INBOX", "Ours", "Ours/Child", "Theirs", "Theirs/Child"], folders.Select(f => f.Name));
        Assert.Equal([false, true, false, true, false], folders.Select(f => f.Attributes.HasFlag(Storage.FolderAttributes.NoSelect)));
        Assert.Equal([false, true, false, true, false], folders.Select(f => f.HasChildren));
        Assert.Equal(0, (await store.GetStatusAsync(login, "Theirs/Child", ct)).Messages);
    }
}
