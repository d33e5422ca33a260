using System.Text;
using Mail.Protocols.Storage;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

/// <summary>
/// The <see cref="IMailboxStore"/> contract as tests: derive from this class in a test project, return a new,
/// empty store from <see cref="CreateStore"/>, and every backend (in-memory, Maildir, yours) is held to the same
/// behaviour. See docs/implementing-a-mailbox-store.md.
/// </summary>
public abstract partial class MailboxStoreContractTests
{
    /// <summary>A new, empty store for one test.</summary>
    protected abstract IMailboxStore CreateStore();

    protected const string User = "alice@example.test";
    /// <summary>A message with a multipart body, as every test appends it.</summary>
    protected static readonly byte[] s_message = Encoding.ASCII.GetBytes(
        "From: Bob <bob@example.org>\r\nTo: alice@example.test, Group: a@x.test, b@x.test;\r\nSubject: hi\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n" +
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\nworld\r\n--b\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=a.bin\r\n\r\nAAEC\r\n--b--\r\n");

    /// <summary>Appends <see cref="s_message"/>.</summary>
    protected static async Task<AppendResult> AppendAsync(IMailboxStore store, string folder = "INBOX", MessageFlags flags = MessageFlags.None) =>
        await store.AppendAsync(User, folder, new MemoryStream(s_message), new AppendOptions(flags));

    [Fact]
    public async Task Inbox_exists_and_appends_get_ascending_uids_and_modseqs()
    {
        var store = CreateStore();
        var folders = await store.ListFoldersAsync(User);
        Assert.Equal("INBOX", Assert.Single(folders).Name);
        var first = await AppendAsync(store);
        var second = await AppendAsync(store, "inbox");
        Assert.True(second.Uid > first.Uid);
        var status = await store.GetStatusAsync(User, "INBOX");
        Assert.Equal(2, status.Messages);
        Assert.Equal(2, status.Unseen);
        Assert.Equal(second.Uid + 1, status.UidNext);
        Assert.Equal(first.UidValidity, status.UidValidity);
        var list = await store.ListMessagesAsync(User, "INBOX");
        Assert.True(list[1].ModSeq > list[0].ModSeq);
        Assert.Equal(status.HighestModSeq, list[1].ModSeq);
    }

    [Fact]
    public async Task Content_reads_back_byte_for_byte_and_seeks()
    {
        var store = CreateStore();
        var appended = await AppendAsync(store);
        await using var stream = await store.OpenContentAsync(User, "INBOX", appended.Uid);
        Assert.True(stream.CanSeek);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(s_message, copy.ToArray());
        stream.Position = 6;
        Assert.Equal((byte)'B', (byte)stream.ReadByte());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(65_537)]
    [InlineData(300_000)]
    public async Task Content_of_any_size_from_a_stream_that_is_not_seekable_reads_back_byte_for_byte_from_any_offset(int size)
    {
        var store = CreateStore();
        var message = size == 0 ? [] : TricklingStream.Message(size);

        var appended = await store.AppendAsync(User, "INBOX", new TricklingStream(message, chunk: 1_000));

        Assert.Equal(size, appended.Size);
        await using var stream = await store.OpenContentAsync(User, "INBOX", appended.Uid);
        Assert.Equal(size, stream.Length);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(message, copy.ToArray());
        foreach (var offset in new[] { size / 2, size - 1, 65_535, 65_536 }.Where(o => o >= 0 && o < size))
        {
            stream.Position = offset;
            Assert.Equal(message[offset], (byte)stream.ReadByte());
        }
    }

    [Fact]
    public async Task Content_whose_stream_is_positioned_past_its_end_is_stored_empty()
    {
        var store = CreateStore();

        var appended = await store.AppendAsync(User, "INBOX", new MemoryStream(new byte[10]) { Position = 20 });

        Assert.Equal(0, appended.Size);
        Assert.Equal(0, Assert.Single(await store.ListMessagesAsync(User, "INBOX")).Size);
    }

    [Fact]
    public async Task Flags_update_with_unchangedsince_and_notifications_reach_observers()
    {
        var store = CreateStore();
        using var changes = new ChangeLog(store.Subscribe(User));
        var a = await AppendAsync(store);
        var b = await AppendAsync(store);
        var before = await store.ListMessagesAsync(User, "INBOX");
        var result = await store.UpdateFlagsAsync(User, "INBOX", [a.Uid, b.Uid, 999], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen, ["$Forwarded"]));
        Assert.Equal(2, result.Updated.Count);
        Assert.All(result.Updated, m => Assert.True(m.Flags.HasFlag(MessageFlags.Seen)));
        Assert.Contains("$Forwarded", result.Updated[0].Keywords);
        var stale = await store.UpdateFlagsAsync(User, "INBOX", [a.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Flagged), unchangedSince: before[0].ModSeq);
        Assert.Equal([a.Uid], stale.Modified);
        Assert.Equal(0, (await store.GetStatusAsync(User, "INBOX")).Unseen);
        Assert.Equal(2, changes.Count(c => c.Kind == MailboxChangeKind.MessageAdded));
        Assert.Equal(2, changes.Count(c => c.Kind == MailboxChangeKind.FlagsChanged));
    }

    [Fact]
    public async Task Expunge_removes_deleted_or_given_uids_and_notifies()
    {
        var store = CreateStore();
        using var changes = new ChangeLog(store.Subscribe(User));
        var a = await AppendAsync(store, flags: MessageFlags.Deleted);
        var b = await AppendAsync(store);
        var c = await AppendAsync(store);
        Assert.Equal([a.Uid], await store.ExpungeAsync(User, "INBOX"));
        Assert.Equal([c.Uid], await store.ExpungeAsync(User, "INBOX", [c.Uid, 12345]));
        Assert.Equal(b.Uid, Assert.Single(await store.ListMessagesAsync(User, "INBOX")).Uid);
        Assert.Equal(2, changes.Count(x => x.Kind == MailboxChangeKind.MessageExpunged));
    }

    [Fact]
    public async Task Folders_copy_move_rename_and_delete()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Archive/2026", SpecialUse.Archive);
        await store.CreateFolderAsync(User, "Trash", SpecialUse.Trash);
        await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.CreateFolderAsync(User, "Trash"));
        var folders = await store.ListFoldersAsync(User);
        Assert.Contains(folders, f => f.Name == "Archive" && f.HasChildren);
        Assert.Contains(folders, f => f.Name == "Trash" && f.SpecialUse == SpecialUse.Trash);

        var a = await AppendAsync(store, flags: MessageFlags.Flagged);
        var copy = await store.CopyAsync(User, "INBOX", [a.Uid], "Archive/2026");
        Assert.Equal([a.Uid], copy.SourceUids);
        var copied = Assert.Single(await store.ListMessagesAsync(User, "Archive/2026"));
        Assert.Equal(copy.TargetUids[0], copied.Uid);
        Assert.True(copied.Flags.HasFlag(MessageFlags.Flagged));

        await store.MoveAsync(User, "INBOX", [a.Uid], "Trash");
        Assert.Empty(await store.ListMessagesAsync(User, "INBOX"));
        Assert.Single(await store.ListMessagesAsync(User, "Trash"));

        await store.RenameFolderAsync(User, "Archive", "Old");
        Assert.Single(await store.ListMessagesAsync(User, "Old/2026"));
        await store.DeleteFolderAsync(User, "Trash");
        var error = await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.ListMessagesAsync(User, "Trash"));
        Assert.Equal(MailboxStoreError.FolderNotFound, error.Error);
        var inbox = await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.DeleteFolderAsync(User, "INBOX"));
        Assert.Equal(MailboxStoreError.NotAllowed, inbox.Error);
    }

    [Fact]
    public async Task Renaming_inbox_moves_its_messages_and_leaves_it_empty()
    {
        var store = CreateStore();
        await AppendAsync(store);
        await store.RenameFolderAsync(User, "INBOX", "Old-Inbox");
        Assert.Empty(await store.ListMessagesAsync(User, "INBOX"));
        Assert.Single(await store.ListMessagesAsync(User, "Old-Inbox"));
    }

    [Fact]
    public async Task Append_that_fails_mid_stream_stores_nothing()
    {
        var store = CreateStore();
        await Assert.ThrowsAsync<IOException>(async () => await store.AppendAsync(User, "INBOX", new FailingStream()));
        Assert.Empty(await store.ListMessagesAsync(User, "INBOX"));
    }

    [Fact]
    public async Task Content_longer_than_its_stream_says_is_kept_whole_or_refused()
    {
        var store = CreateStore();
        var message = TricklingStream.Message(70_000);
        try
        {
            var appended = await store.AppendAsync(User, "INBOX", new UnderstatedLengthStream(message, statedLength: 1_000));
            await using var content = await store.OpenContentAsync(User, "INBOX", appended.Uid);
            var copy = new MemoryStream();
            await content.CopyToAsync(copy);
            Assert.Equal(message, copy.ToArray());
        }
        catch (InvalidDataException)
        {
            Assert.Empty(await store.ListMessagesAsync(User, "INBOX")); // refused: nothing, and certainly not the first 1,000 octets
        }
    }

    [Fact]
    public async Task Summary_has_envelope_and_body_structure_with_offsets()
    {
        var store = CreateStore();
        var a = await AppendAsync(store);
        var summary = await store.GetSummaryAsync(User, "INBOX", a.Uid);
        Assert.Equal("hi", summary.Envelope.Subject);
        Assert.Equal("<1@example.org>", summary.Envelope.MessageId);
        Assert.Equal("Bob", summary.Envelope.From[0].Name);
        Assert.Equal(summary.Envelope.From, summary.Envelope.Sender);
        Assert.Equal(5, summary.Envelope.To.Count); // alice, group start, two members, group end
        Assert.Equal("multipart", summary.Body.MediaType);
        Assert.Equal("mixed", summary.Body.MediaSubtype);
        Assert.Equal(2, summary.Body.Children.Count);
        var text = summary.Body.Children[0];
        Assert.Equal("plain", text.MediaSubtype);
        // The CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1), not to the part.
        Assert.Equal("hello\r\nworld", Encoding.ASCII.GetString(s_message, (int)text.BodyOffset, (int)text.BodySize));
        var attachment = summary.Body.Children[1];
        Assert.Equal("attachment", attachment.Disposition);
        Assert.Equal("base64", attachment.TransferEncoding);
        Assert.Equal("AAEC", Encoding.ASCII.GetString(s_message, (int)attachment.BodyOffset, (int)attachment.BodySize));
    }

    [Fact]
    public async Task Flag_changes_and_expunges_raise_modseq_and_highestmodseq()
    {
        var store = CreateStore();
        var a = await AppendAsync(store);
        var b = await AppendAsync(store);
        var start = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        var changed = Assert.Single((await store.UpdateFlagsAsync(User, "INBOX", [a.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen, ["$Label1"]))).Updated);
        Assert.True(changed.ModSeq > start);
        var afterFlags = await store.GetStatusAsync(User, "INBOX");
        Assert.Equal(changed.ModSeq, afterFlags.HighestModSeq);
        var listed = await store.ListMessagesAsync(User, "INBOX");
        Assert.Equal(changed.ModSeq, listed.Single(m => m.Uid == a.Uid).ModSeq);
        Assert.True(listed.Single(m => m.Uid == b.Uid).ModSeq < changed.ModSeq); // only the changed message moves

        var keywordOnly = Assert.Single((await store.UpdateFlagsAsync(User, "INBOX", [b.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.None, ["$Label2"]))).Updated);
        Assert.True(keywordOnly.ModSeq > changed.ModSeq);

        Assert.Equal([a.Uid], await store.ExpungeAsync(User, "INBOX", [a.Uid]));
        var afterExpunge = await store.GetStatusAsync(User, "INBOX");
        Assert.True(afterExpunge.HighestModSeq > keywordOnly.ModSeq);
        Assert.Equal(1, afterExpunge.Messages);
    }

    [Fact]
    public async Task The_highest_expunged_uid_is_not_given_out_again()
    {
        var store = CreateStore();
        var a = await AppendAsync(store);
        var b = await AppendAsync(store);
        await store.ExpungeAsync(User, "INBOX", [b.Uid]);
        Assert.True((await store.GetStatusAsync(User, "INBOX")).UidNext > b.Uid);
        await store.ExpungeAsync(User, "INBOX", [a.Uid]);
        var c = await AppendAsync(store);
        Assert.True(c.Uid > b.Uid, $"UID {c.Uid} given after {b.Uid} was expunged");
        Assert.NotEqual(0u, c.UidValidity);
    }

    [Fact]
    public async Task Unchangedsince_at_the_current_modseq_changes_the_message()
    {
        var store = CreateStore();
        var a = await AppendAsync(store);
        var b = await AppendAsync(store);
        var current = (await store.ListMessagesAsync(User, "INBOX")).ToDictionary(m => m.Uid);
        // b was changed after a's MODSEQ: with UNCHANGEDSINCE = a's MODSEQ, a changes and b is reported.
        await store.UpdateFlagsAsync(User, "INBOX", [b.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Answered));
        var result = await store.UpdateFlagsAsync(User, "INBOX", [a.Uid, b.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Flagged), unchangedSince: current[a.Uid].ModSeq);
        var updated = Assert.Single(result.Updated);
        Assert.Equal(a.Uid, updated.Uid);
        Assert.True(updated.Flags.HasFlag(MessageFlags.Flagged));
        Assert.True(updated.ModSeq > current[a.Uid].ModSeq);
        Assert.Equal([b.Uid], result.Modified);
        var after = (await store.ListMessagesAsync(User, "INBOX")).ToDictionary(m => m.Uid);
        Assert.True(after[a.Uid].Flags.HasFlag(MessageFlags.Flagged));
        Assert.False(after[b.Uid].Flags.HasFlag(MessageFlags.Flagged));
        Assert.Equal(MessageFlags.Answered, after[b.Uid].Flags);
    }

    [Fact]
    public async Task Concurrent_appends_get_distinct_ascending_uids_and_are_all_stored()
    {
        const int Appenders = 12;
        var store = CreateStore(); // and the user's first use is one of the concurrent appends
        var arrived = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var appends = Enumerable.Range(0, Appenders).Select(i => Task.Run(async () =>
        {
            // A barrier: no append starts before every appender is ready to start.
            if (Interlocked.Increment(ref arrived) == Appenders)
            {
                allArrived.SetResult();
            }
            await go.Task;
            var content = Encoding.ASCII.GetBytes($"Subject: message {i}\r\n\r\nbody {i}\r\n");
            var result = await store.AppendAsync(User, "INBOX", new MemoryStream(content));
            return (result.Uid, Content: content);
        })).ToList();
        await allArrived.Task;
        go.SetResult();
        var results = await Task.WhenAll(appends);

        Assert.Equal(Appenders, results.Select(r => r.Uid).Distinct().Count());
        var listed = await store.ListMessagesAsync(User, "INBOX");
        Assert.Equal(results.Select(r => r.Uid).Order(), listed.Select(m => m.Uid));
        Assert.Equal(Appenders, listed.Select(m => m.ModSeq).Distinct().Count());
        var status = await store.GetStatusAsync(User, "INBOX");
        Assert.Equal(Appenders, status.Messages);
        Assert.True(status.UidNext > listed[^1].Uid);
        foreach (var (uid, content) in results)
        {
            await using var stream = await store.OpenContentAsync(User, "INBOX", uid);
            var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.Equal(content, copy.ToArray());
        }
    }

    [Fact]
    public async Task Notifications_carry_the_change_and_the_new_highestmodseq()
    {
        var store = CreateStore();
        await store.ListFoldersAsync(User);
        using var changes = new ChangeLog(store.Subscribe(User));

        var a = await store.AppendAsync(User, "INBOX", new MemoryStream(s_message), new AppendOptions(MessageFlags.Flagged, ["$Label1"]));
        var added = Assert.Single(changes);
        Assert.Equal((MailboxChangeKind.MessageAdded, "INBOX", a.Uid), (added.Kind, added.Folder, added.Uid));
        Assert.Equal(User, Assert.Single(changes.Batches).User);
        Assert.NotNull(added.Message);
        Assert.Equal(a.Uid, added.Message.Uid);
        Assert.Equal(MessageFlags.Flagged, added.Message.Flags);
        Assert.Equal(["$Label1"], added.Message.Keywords);
        Assert.Equal(a.Size, added.Message.Size);
        Assert.Equal((await store.GetStatusAsync(User, "INBOX")).HighestModSeq, added.ModSeq);
        Assert.Equal(added.ModSeq, added.Message.ModSeq);

        changes.Clear();
        await store.UpdateFlagsAsync(User, "INBOX", [a.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen));
        var flagged = Assert.Single(changes);
        Assert.Equal((MailboxChangeKind.FlagsChanged, "INBOX", a.Uid), (flagged.Kind, flagged.Folder, flagged.Uid));
        Assert.Equal(MessageFlags.Flagged | MessageFlags.Seen, flagged.Message!.Flags);
        Assert.Equal((await store.GetStatusAsync(User, "INBOX")).HighestModSeq, flagged.ModSeq);
        Assert.Equal(flagged.ModSeq, flagged.Message.ModSeq);

        changes.Clear();
        await store.ExpungeAsync(User, "INBOX", [a.Uid]);
        var expunged = Assert.Single(changes);
        Assert.Equal((MailboxChangeKind.MessageExpunged, "INBOX", a.Uid), (expunged.Kind, expunged.Folder, expunged.Uid));
        Assert.Null(expunged.Message);
        Assert.Equal((await store.GetStatusAsync(User, "INBOX")).HighestModSeq, expunged.ModSeq);

        var b = await AppendAsync(store, flags: MessageFlags.Seen);
        await store.CreateFolderAsync(User, "Archive");
        changes.Clear();
        var copy = await store.CopyAsync(User, "INBOX", [b.Uid], "Archive");
        var copied = Assert.Single(changes);
        Assert.Equal((MailboxChangeKind.MessageAdded, "Archive", copy.TargetUids[0]), (copied.Kind, copied.Folder, copied.Uid));
        Assert.Equal(MessageFlags.Seen, copied.Message!.Flags);
        Assert.Equal((await store.GetStatusAsync(User, "Archive")).HighestModSeq, copied.ModSeq);

        changes.Clear();
        var sourceBefore = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        var move = await store.MoveAsync(User, "INBOX", [b.Uid], "Archive");
        Assert.Equal(2, changes.Count);
        var movedIn = Assert.Single(changes, c => c.Kind == MailboxChangeKind.MessageAdded);
        Assert.Equal(("Archive", move.TargetUids[0]), (movedIn.Folder, movedIn.Uid));
        Assert.Equal((await store.GetStatusAsync(User, "Archive")).HighestModSeq, movedIn.ModSeq);
        var movedOut = Assert.Single(changes, c => c.Kind == MailboxChangeKind.MessageExpunged);
        Assert.Equal(("INBOX", b.Uid), (movedOut.Folder, movedOut.Uid));
        var sourceAfter = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        Assert.True(sourceAfter > sourceBefore); // a move expunges from the source
        Assert.Equal(sourceAfter, movedOut.ModSeq);

        changes.Clear();
        await store.CreateFolderAsync(User, "Projects");
        await store.RenameFolderAsync(User, "Projects", "Done");
        await store.DeleteFolderAsync(User, "Done");
        Assert.Equal(
            [(MailboxChangeKind.FolderCreated, "Projects", (string?)null, 0u), (MailboxChangeKind.FolderRenamed, "Projects", "Done", 0u), (MailboxChangeKind.FolderDeleted, "Done", null, 0u)],
            changes.Select(c => (c.Kind, c.Folder, c.NewFolderName, c.Uid)));
    }

    [Fact]
    public async Task Subscribers_hear_only_their_own_user_and_nothing_after_unsubscribing()
    {
        const string Other = "bob@example.test";
        var store = CreateStore();
        var alice = new ChangeLog(store.Subscribe(User));
        using var bob = new ChangeLog(store.Subscribe(Other));
        var aliceSubscription = alice.Subscription;

        await AppendAsync(store);
        await store.AppendAsync(Other, "INBOX", new MemoryStream(s_message));
        Assert.Equal(User, Assert.Single(alice.Batches).User);
        Assert.Equal(Other, Assert.Single(bob.Batches).User);

        aliceSubscription.Dispose();
        aliceSubscription.Dispose(); // twice is harmless
        await AppendAsync(store);
        await store.CreateFolderAsync(User, "Later");
        Assert.Single(alice);
        Assert.Single(bob);
        await store.AppendAsync(Other, "INBOX", new MemoryStream(s_message));
        Assert.Equal(2, bob.Count);
        // The mail is as separate as the notifications.
        Assert.Equal(2, (await store.ListMessagesAsync(Other, "INBOX")).Count);
        Assert.Equal(2, (await store.ListMessagesAsync(User, "INBOX")).Count);
        Assert.DoesNotContain(await store.ListFoldersAsync(Other), f => f.Name == "Later");
    }

    [Fact]
    public async Task A_listed_snapshot_does_not_change_when_the_folder_does()
    {
        var store = CreateStore();
        var a = await AppendAsync(store);
        var b = await AppendAsync(store);
        var snapshot = await store.ListMessagesAsync(User, "INBOX");
        static string Describe(IEnumerable<MessageInfo> list) =>
            string.Join(";", list.Select(m => $"{m.Uid} {m.Flags} [{string.Join(' ', m.Keywords)}] {m.ModSeq} {m.Size} {m.InternalDate:O}"));
        var before = Describe(snapshot);

        await store.UpdateFlagsAsync(User, "INBOX", [a.Uid, b.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen | MessageFlags.Deleted, ["$Label1"]));
        await AppendAsync(store);
        await store.ExpungeAsync(User, "INBOX", [b.Uid]);
        await store.UpdateFlagsAsync(User, "INBOX", [a.Uid], new FlagChange(FlagChangeMode.Replace, MessageFlags.Answered, ["$Other"]));

        Assert.Equal(2, snapshot.Count);
        Assert.Equal(before, Describe(snapshot));
    }

    [Fact]
    public async Task Copy_and_move_keep_flags_keywords_and_internal_date()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Archive");
        await store.CreateFolderAsync(User, "Trash");
        var date = new DateTimeOffset(2026, 10, 3, 14, 15, 16, TimeSpan.FromHours(2));
        var a = await store.AppendAsync(User, "INBOX", new MemoryStream(s_message), new AppendOptions(MessageFlags.Answered | MessageFlags.Flagged, ["$Label1", "Project"], date));
        var original = Assert.Single(await store.ListMessagesAsync(User, "INBOX"));

        var copy = await store.CopyAsync(User, "INBOX", [a.Uid], "Archive");
        Assert.Equal((await store.GetStatusAsync(User, "Archive")).UidValidity, copy.UidValidity);
        var copied = Assert.Single(await store.ListMessagesAsync(User, "Archive"));
        Assert.Equal(copy.TargetUids[0], copied.Uid);
        Assert.Equal(MessageFlags.Answered | MessageFlags.Flagged, copied.Flags);
        Assert.Equal(["$Label1", "Project"], copied.Keywords.Order(StringComparer.Ordinal));
        Assert.Equal(date, copied.InternalDate);
        Assert.Equal(original.Size, copied.Size);
        await using (var content = await store.OpenContentAsync(User, "Archive", copied.Uid))
        {
            var bytes = new MemoryStream();
            await content.CopyToAsync(bytes);
            Assert.Equal(s_message, bytes.ToArray());
        }
        Assert.Equal(original.ModSeq, Assert.Single(await store.ListMessagesAsync(User, "INBOX")).ModSeq); // the source is untouched

        var move = await store.MoveAsync(User, "INBOX", [a.Uid], "Trash");
        Assert.Equal([a.Uid], move.SourceUids);
        var moved = Assert.Single(await store.ListMessagesAsync(User, "Trash"));
        Assert.Equal(move.TargetUids[0], moved.Uid);
        Assert.Equal(MessageFlags.Answered | MessageFlags.Flagged, moved.Flags);
        Assert.Equal(["$Label1", "Project"], moved.Keywords.Order(StringComparer.Ordinal));
        Assert.Equal(date, moved.InternalDate);
        Assert.Empty(await store.ListMessagesAsync(User, "INBOX"));
    }

    [Fact]
    public async Task A_folder_deleted_and_created_again_gets_a_new_uidvalidity()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Lists");
        var first = await store.AppendAsync(User, "Lists", new MemoryStream(s_message));
        await store.DeleteFolderAsync(User, "Lists");
        await store.CreateFolderAsync(User, "Lists");
        var status = await store.GetStatusAsync(User, "Lists");
        Assert.True(status.UidValidity > first.UidValidity, $"UIDVALIDITY {status.UidValidity} after re-creating, {first.UidValidity} before");
        Assert.Equal(0, status.Messages);
        var second = await store.AppendAsync(User, "Lists", new MemoryStream(s_message));
        Assert.Equal(status.UidValidity, second.UidValidity);

        // Renamed away, the folder keeps its UIDVALIDITY; a folder created under the old name gets a new one.
        await store.RenameFolderAsync(User, "Lists", "Old-Lists");
        Assert.Equal(status.UidValidity, (await store.GetStatusAsync(User, "Old-Lists")).UidValidity);
        await store.CreateFolderAsync(User, "Lists");
        var third = await store.GetStatusAsync(User, "Lists");
        Assert.True(third.UidValidity > status.UidValidity, $"UIDVALIDITY {third.UidValidity} for the new folder, {status.UidValidity} for the renamed one");
    }

    [Fact]
    public async Task A_cancelled_append_stores_nothing_and_leaves_no_message_behind()
    {
        var store = CreateStore();
        var before = await AppendAsync(store);
        using var cancellation = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await store.AppendAsync(User, "INBOX", new CancellingStream(cancellation), cancellationToken: cancellation.Token));
        await Assert.ThrowsAsync<IOException>(async () => await store.AppendAsync(User, "INBOX", new FailingStream()));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await store.AppendAsync(User, "INBOX", new MemoryStream(s_message), cancellationToken: cancelled.Token));
        Assert.Equal(before.Uid, Assert.Single(await store.ListMessagesAsync(User, "INBOX")).Uid);
        Assert.Equal(1, (await store.GetStatusAsync(User, "INBOX")).Messages);

        var after = await AppendAsync(store);
        Assert.True(after.Uid > before.Uid);
        // UIDs taken by the failed appends (if any) are gaps, never messages.
        Assert.Equal([before.Uid, after.Uid], (await store.ListMessagesAsync(User, "INBOX")).Select(m => m.Uid));
        Assert.Equal(2, (await store.GetStatusAsync(User, "INBOX")).Messages);
    }

    [Fact]
    public async Task Every_user_has_an_inbox_without_being_created()
    {
        var store = CreateStore();
        var status = await store.GetStatusAsync("new-user@example.test", "INBOX");
        Assert.Equal((0, 0, 0L), (status.Messages, status.Unseen, status.Size));
        Assert.True(status.UidNext > 0);
        Assert.Empty(await store.ListMessagesAsync("carol@example.test", "INBOX"));
        var appended = await store.AppendAsync("dave@example.test", "INBOX", new MemoryStream(s_message));
        Assert.Equal(appended.Uid, Assert.Single(await store.ListMessagesAsync("dave@example.test", "INBOX")).Uid);
    }

    [Fact]
    public async Task Errors_have_the_documented_codes()
    {
        var store = CreateStore();
        var a = await AppendAsync(store);
        await store.CreateFolderAsync(User, "Sent");
        var missing = a.Uid + 100;

        async Task Expect(MailboxStoreError error, Func<Task> operation) =>
            Assert.Equal(error, (await Assert.ThrowsAsync<MailboxStoreException>(operation)).Error);

        await Expect(MailboxStoreError.FolderNotFound, async () => await store.GetStatusAsync(User, "Nope"));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.ListMessagesAsync(User, "Nope"));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.AppendAsync(User, "Nope", new MemoryStream(s_message)));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.OpenContentAsync(User, "Nope", a.Uid));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.GetSummaryAsync(User, "Nope", a.Uid));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.UpdateFlagsAsync(User, "Nope", [a.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen)));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.ExpungeAsync(User, "Nope"));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.CopyAsync(User, "Nope", [a.Uid], "Sent"));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.CopyAsync(User, "INBOX", [a.Uid], "Nope"));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.MoveAsync(User, "INBOX", [a.Uid], "Nope"));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.RenameFolderAsync(User, "Nope", "Other"));
        await Expect(MailboxStoreError.FolderNotFound, async () => await store.DeleteFolderAsync(User, "Nope"));
        await Expect(MailboxStoreError.MessageNotFound, async () => await store.OpenContentAsync(User, "INBOX", missing));
        await Expect(MailboxStoreError.MessageNotFound, async () => await store.GetSummaryAsync(User, "INBOX", missing));
        await Expect(MailboxStoreError.FolderExists, async () => await store.CreateFolderAsync(User, "Sent"));
        await Expect(MailboxStoreError.FolderExists, async () => await store.CreateFolderAsync(User, "inbox"));
        await Expect(MailboxStoreError.FolderExists, async () => await store.RenameFolderAsync(User, "Sent", "INBOX"));
        await Expect(MailboxStoreError.NotAllowed, async () => await store.DeleteFolderAsync(User, "inbox"));
        await Expect(MailboxStoreError.InvalidName, async () => await store.CreateFolderAsync(User, $"a{store.HierarchySeparator}{store.HierarchySeparator}b"));
        await Expect(MailboxStoreError.InvalidName, async () => await store.CreateFolderAsync(User, ""));

        // A failed move or copy changed nothing.
        Assert.Equal(a.Uid, Assert.Single(await store.ListMessagesAsync(User, "INBOX")).Uid);
        Assert.Empty(await store.ListMessagesAsync(User, "Sent"));
        // Flags and expunges of UIDs not in the folder are ignored, not errors.
        Assert.Empty((await store.UpdateFlagsAsync(User, "INBOX", [missing], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen))).Updated);
        Assert.Empty(await store.ExpungeAsync(User, "INBOX", [missing]));
        Assert.Empty((await store.CopyAsync(User, "INBOX", [missing], "Sent")).SourceUids);
    }
}
