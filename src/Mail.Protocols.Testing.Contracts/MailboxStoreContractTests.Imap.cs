using Mail.Protocols.Storage;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

// What the IMAP engine needs of a store beyond SMTP and POP3: subscriptions, name attributes, special use set
// later, the same folder changes from every store, STATUS DELETED and keywords that are IMAP atoms.
public abstract partial class MailboxStoreContractTests
{
    private const string OtherUser = "bob@example.test";

    private static async Task<MailboxStoreError> ErrorOf(Func<Task> operation) =>
        (await Assert.ThrowsAsync<MailboxStoreException>(operation)).Error;

    [Fact]
    public async Task Subscriptions_are_kept_per_user_for_any_name_until_unsubscribed()
    {
        var store = CreateStore();
        Assert.Empty(await store.ListSubscriptionsAsync(User));

        await store.AddSubscriptionAsync(User, "Lists/Rust"); // RFC 9051 §6.3.7: the folder need not exist
        await store.AddSubscriptionAsync(User, "inbox");
        await store.AddSubscriptionAsync(User, "INBOX");
        await store.AddSubscriptionAsync(User, "Archive");
        await store.AddSubscriptionAsync(User, "Archive");
        Assert.Equal(["Archive", "INBOX", "Lists/Rust"], await store.ListSubscriptionsAsync(User));
        Assert.Empty(await store.ListSubscriptionsAsync(OtherUser));
        Assert.Equal(["INBOX"], (await store.ListFoldersAsync(User)).Select(f => f.Name)); // no folder was created

        await store.RemoveSubscriptionAsync(User, "Archive");
        await store.RemoveSubscriptionAsync(User, "Never-subscribed");
        Assert.Equal(["INBOX", "Lists/Rust"], await store.ListSubscriptionsAsync(User));

        // Deleting or renaming a folder leaves the subscriptions alone (RFC 9051 §6.3.9).
        await store.CreateFolderAsync(User, "Lists/Rust");
        await store.RenameFolderAsync(User, "Lists", "Old-Lists");
        await store.CreateFolderAsync(User, "Lists/Rust");
        await store.DeleteFolderAsync(User, "Lists/Rust");
        Assert.Equal(["INBOX", "Lists/Rust"], await store.ListSubscriptionsAsync(User));

        Assert.Equal(MailboxStoreError.InvalidName, await ErrorOf(async () => await store.AddSubscriptionAsync(User, "")));
        Assert.Equal(MailboxStoreError.InvalidName, await ErrorOf(async () => await store.AddSubscriptionAsync(User, "a//b")));
        Assert.Equal(MailboxStoreError.InvalidName, await ErrorOf(async () => await store.RemoveSubscriptionAsync(User, "")));
        Assert.Equal(["INBOX", "Lists/Rust"], await store.ListSubscriptionsAsync(User));
    }

    [Fact]
    public async Task Folders_list_their_children_and_ordinary_folders_have_no_attributes()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Archive/2026/Q4");
        await store.CreateFolderAsync(User, "Drafts", SpecialUse.Drafts);
        var folders = await store.ListFoldersAsync(User);
        Assert.Equal(["INBOX", "Archive", "Archive/2026", "Archive/2026/Q4", "Drafts"], folders.Select(f => f.Name));
        Assert.Equal([false, true, true, false, false], folders.Select(f => f.HasChildren));
        Assert.All(folders, f => Assert.Equal(FolderAttributes.None, f.Attributes));
        Assert.All(folders, f => Assert.True(f.IsSelectable));
        // \NoInferiors, where a store has it, is kept: no child can be created below such a folder.
        foreach (var folder in folders.Where(f => f.Attributes.HasFlag(FolderAttributes.NoInferiors)))
        {
            Assert.Equal(MailboxStoreError.NotAllowed, await ErrorOf(async () => await store.CreateFolderAsync(User, folder.Name + store.HierarchySeparator + "child")));
        }
    }

    [Fact]
    public async Task Deleting_a_parent_keeps_its_children_and_leaves_a_noselect_name()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "a/b");
        await AppendAsync(store, "a");
        await AppendAsync(store, "a/b");
        var changes = new ChangeLog(store.Subscribe(User));
        using (changes)
        {
            await store.DeleteFolderAsync(User, "a");
        }
        var change = Assert.Single(changes);
        Assert.Equal((MailboxChangeKind.FolderDeleted, "a", (string?)null), (change.Kind, change.Folder, change.NewFolderName));

        var folders = await store.ListFoldersAsync(User);
        Assert.Equal(["INBOX", "a", "a/b"], folders.Select(f => f.Name));
        Assert.Equal(new FolderInfo("a", SpecialUse.None, true, FolderAttributes.NoSelect), folders[1]);
        Assert.False(folders[1].IsSelectable);
        Assert.Equal(new FolderInfo("a/b", SpecialUse.None, false), folders[2]);
        Assert.Single(await store.ListMessagesAsync(User, "a/b"));

        // A \Noselect name is not a folder to any method that needs one.
        Assert.Equal(MailboxStoreError.FolderNotFound, await ErrorOf(async () => await store.GetStatusAsync(User, "a")));
        Assert.Equal(MailboxStoreError.FolderNotFound, await ErrorOf(async () => await store.ListMessagesAsync(User, "a")));
        Assert.Equal(MailboxStoreError.FolderNotFound, await ErrorOf(async () => await AppendAsync(store, "a")));
        Assert.Equal(MailboxStoreError.FolderNotFound, await ErrorOf(async () => await store.DeleteFolderAsync(User, "a")));
        Assert.Equal(MailboxStoreError.FolderNotFound, await ErrorOf(async () => await store.RenameFolderAsync(User, "a", "c")));
        Assert.Equal(MailboxStoreError.FolderNotFound, await ErrorOf(async () => await store.SetSpecialUseAsync(User, "a", SpecialUse.Archive)));

        // Creating the name makes it a folder again, new and empty; deleting the last child takes the name away.
        await store.CreateFolderAsync(User, "a");
        Assert.Equal(new FolderInfo("a", SpecialUse.None, true), (await store.ListFoldersAsync(User))[1]);
        Assert.Equal(0, (await store.GetStatusAsync(User, "a")).Messages);
        await store.DeleteFolderAsync(User, "a");
        await store.DeleteFolderAsync(User, "a/b");
        Assert.Equal(["INBOX"], (await store.ListFoldersAsync(User)).Select(f => f.Name));
    }

    [Fact]
    public async Task Special_use_can_be_set_changed_and_removed_after_creation()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Stuff");
        await store.SetSpecialUseAsync(User, "Stuff", SpecialUse.Trash);
        Assert.Contains(new FolderInfo("Stuff", SpecialUse.Trash, false), await store.ListFoldersAsync(User));
        await store.SetSpecialUseAsync(User, "Stuff", SpecialUse.Archive);
        Assert.Contains(new FolderInfo("Stuff", SpecialUse.Archive, false), await store.ListFoldersAsync(User));
        await store.SetSpecialUseAsync(User, "Stuff", SpecialUse.None);
        Assert.Contains(new FolderInfo("Stuff", SpecialUse.None, false), await store.ListFoldersAsync(User));
        Assert.Equal(MailboxStoreError.FolderNotFound, await ErrorOf(async () => await store.SetSpecialUseAsync(User, "Missing", SpecialUse.Junk)));
    }

    [Fact]
    public async Task Renaming_inbox_publishes_its_expunges_and_a_new_folder_and_keeps_its_uids()
    {
        var store = CreateStore();
        var date = new DateTimeOffset(2026, 10, 3, 7, 0, 0, TimeSpan.Zero);
        var first = await store.AppendAsync(User, "INBOX", new MemoryStream(s_message), new AppendOptions(MessageFlags.Seen, ["$Forwarded"], date));
        var second = await AppendAsync(store, flags: MessageFlags.Flagged);
        var before = await store.GetStatusAsync(User, "INBOX");
        var changes = new ChangeLog(store.Subscribe(User));
        using (changes)
        {
            await store.RenameFolderAsync(User, "INBOX", "Old/Inbox");
        }
        Assert.Equal(
            [(MailboxChangeKind.MessageExpunged, "INBOX", first.Uid), (MailboxChangeKind.MessageExpunged, "INBOX", second.Uid), (MailboxChangeKind.FolderCreated, "Old/Inbox", 0u)],
            changes.Select(c => (c.Kind, c.Folder, c.Uid)));

        var inbox = await store.GetStatusAsync(User, "INBOX");
        Assert.Equal((before.UidValidity, before.UidNext, 0), (inbox.UidValidity, inbox.UidNext, inbox.Messages));
        Assert.True(inbox.HighestModSeq > before.HighestModSeq);
        Assert.True((await AppendAsync(store)).Uid > second.Uid);

        var moved = await store.ListMessagesAsync(User, "Old/Inbox");
        Assert.Equal([MessageFlags.Seen, MessageFlags.Flagged], moved.Select(m => m.Flags));
        Assert.Equal(["$Forwarded"], moved[0].Keywords);
        Assert.Equal(date, moved[0].InternalDate);
        Assert.Contains(await store.ListFoldersAsync(User), f => f.Name == "Old/Inbox" && f.IsSelectable);
    }

    [Fact]
    public async Task Renaming_a_folder_publishes_one_rename_for_it_and_its_children()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Projects/Old", SpecialUse.Archive);
        var status = await store.GetStatusAsync(User, "Projects/Old");
        var changes = new ChangeLog(store.Subscribe(User));
        using (changes)
        {
            await store.RenameFolderAsync(User, "Projects", "Work");
        }
        var change = Assert.Single(changes);
        Assert.Equal((MailboxChangeKind.FolderRenamed, "Projects", "Work"), (change.Kind, change.Folder, change.NewFolderName));
        Assert.Equal(["INBOX", "Work", "Work/Old"], (await store.ListFoldersAsync(User)).Select(f => f.Name));
        Assert.Equal(SpecialUse.Archive, (await store.ListFoldersAsync(User))[2].SpecialUse);
        Assert.Equal(status.UidValidity, (await store.GetStatusAsync(User, "Work/Old")).UidValidity);
    }

    [Fact]
    public async Task Status_counts_the_messages_flagged_deleted()
    {
        var store = CreateStore();
        await AppendAsync(store, flags: MessageFlags.Deleted | MessageFlags.Seen);
        var b = await AppendAsync(store);
        await AppendAsync(store);
        Assert.Equal(1, (await store.GetStatusAsync(User, "INBOX")).Deleted);
        await store.UpdateFlagsAsync(User, "INBOX", [b.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Deleted));
        var status = await store.GetStatusAsync(User, "INBOX");
        Assert.Equal((3, 2, 2), (status.Messages, status.Unseen, status.Deleted));
        await store.ExpungeAsync(User, "INBOX");
        Assert.Equal(0, (await store.GetStatusAsync(User, "INBOX")).Deleted);
    }

    public static TheoryData<string> NotAtoms => ["", "two words", "\\Seen", "(x", "x)", "{3}", "50%", "a*", "say\"", "a]", "tab\t", "caf\u00e9", "\u007fdel"];

    [Theory]
    [MemberData(nameof(NotAtoms))]
    public async Task Keywords_that_are_not_imap_atoms_are_refused_and_change_nothing(string keyword)
    {
        Assert.False(MessageKeywords.IsValid(keyword));
        var store = CreateStore();
        var a = await AppendAsync(store);
        var before = await store.ListMessagesAsync(User, "INBOX");
        var changes = new ChangeLog(store.Subscribe(User));
        using (changes)
        {
            Assert.Equal(MailboxStoreError.InvalidKeyword, await ErrorOf(async () =>
                await store.AppendAsync(User, "INBOX", new MemoryStream(s_message), new AppendOptions(Keywords: ["$Ok", keyword]))));
            // The keywords are checked before the folder.
            Assert.Equal(MailboxStoreError.InvalidKeyword, await ErrorOf(async () =>
                await store.AppendAsync(User, "Missing", new MemoryStream(s_message), new AppendOptions(Keywords: [keyword]))));
            foreach (var mode in new[] { FlagChangeMode.Add, FlagChangeMode.Replace, FlagChangeMode.Remove })
            {
                Assert.Equal(MailboxStoreError.InvalidKeyword, await ErrorOf(async () =>
                    await store.UpdateFlagsAsync(User, "INBOX", [a.Uid], new FlagChange(mode, MessageFlags.Seen, ["$Ok", keyword]))));
            }
        }
        Assert.Empty(changes);
        Assert.Equal(before, await store.ListMessagesAsync(User, "INBOX"), new MessageInfoComparer());
    }

    [Fact]
    public async Task Keywords_that_are_atoms_are_kept()
    {
        string[] keywords = ["$Forwarded", "$MDNSent", "Junk", "NonJunk", "a.b-c_d+e", "x[1", "~!#&'=?@^`|"];
        Assert.All(keywords, k => Assert.True(MessageKeywords.IsValid(k), k));
        var store = CreateStore();
        var a = await store.AppendAsync(User, "INBOX", new MemoryStream(s_message), new AppendOptions(Keywords: keywords[..3]));
        await store.UpdateFlagsAsync(User, "INBOX", [a.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.None, keywords[3..]));
        Assert.Equal(keywords.Order(StringComparer.Ordinal), Assert.Single(await store.ListMessagesAsync(User, "INBOX")).Keywords.Order(StringComparer.Ordinal));
    }

    private sealed class MessageInfoComparer : IEqualityComparer<MessageInfo>
    {
        public bool Equals(MessageInfo? x, MessageInfo? y) => x is not null && y is not null
            && (x.Uid, x.Flags, x.InternalDate, x.Size, x.ModSeq) == (y.Uid, y.Flags, y.InternalDate, y.Size, y.ModSeq)
            && x.Keywords.Order(StringComparer.Ordinal).SequenceEqual(y.Keywords.Order(StringComparer.Ordinal));

        public int GetHashCode(MessageInfo obj) => obj.Uid.GetHashCode();
    }
}
