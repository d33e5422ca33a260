using System.Text;
using Mail.Protocols.Storage;
using Mail.Protocols.Testing.Contracts;
using Mail.Protocols.TestSupport;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>What the Maildir store adds to the contract: files other programs can read, persistence, and living with other programs.</summary>
public sealed class MaildirStoreTests : IDisposable
{
    private readonly StoreFixture _f = new();
    private static readonly string User = StoreFixture.User;

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Messages_are_maildir_files_with_flags_in_their_names_and_keywords_in_dovecot_keywords()
    {
        var plain = await _f.AppendAsync("plain");
        var flagged = await _f.AppendAsync("flagged", new AppendOptions(MessageFlags.Seen | MessageFlags.Flagged, ["$Forwarded", "Work"]));
        var newFile = Assert.Single(Directory.GetFiles(Path.Combine(_f.Inbox, "new")));
        Assert.DoesNotContain(':', Path.GetFileName(newFile));
        Assert.EndsWith($",S={new FileInfo(newFile).Length},W={new FileInfo(newFile).Length}", newFile, StringComparison.Ordinal);
        var curFile = Path.GetFileName(Assert.Single(Directory.GetFiles(Path.Combine(_f.Inbox, "cur"))));
        Assert.EndsWith(":2,FSab", curFile, StringComparison.Ordinal);
        Assert.Equal("0 $Forwarded\n1 Work\n", await File.ReadAllTextAsync(Path.Combine(_f.Inbox, "dovecot-keywords")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_f.Inbox, "tmp")));

        // A flag change renames the file (and moves it out of new/).
        await _f.Store.UpdateFlagsAsync(User, "INBOX", [plain.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Answered | MessageFlags.Deleted));
        Assert.Empty(Directory.GetFiles(Path.Combine(_f.Inbox, "new")));
        Assert.Contains(Directory.GetFiles(Path.Combine(_f.Inbox, "cur")), p => p.EndsWith(":2,RT", StringComparison.Ordinal));
        Assert.True(flagged.Uid > plain.Uid);
    }

    [Fact]
    public async Task Content_with_a_bare_lf_is_stored_and_served_as_given_and_its_name_claims_no_crlf_size()
    {
        // Binary MIME (BDAT BODY=BINARYMIME) or an API caller may store bare LFs: served untouched, so the name
        // carries no ",W=" (the size Dovecot would serve, with CRLF line ends), which would not match.
        var bytes = "From: bob@example.org\r\nSubject: raw\r\n\r\nline\nanother\r\n"u8.ToArray();
        var appended = await _f.Store.AppendAsync(User, "INBOX", new MemoryStream(bytes));
        Assert.Equal(bytes.Length, appended.Size);
        var name = Path.GetFileName(Assert.Single(Directory.GetFiles(Path.Combine(_f.Inbox, "new"))));
        Assert.EndsWith($",S={bytes.Length}", name, StringComparison.Ordinal);
        await using var content = await _f.Store.OpenContentAsync(User, "INBOX", appended.Uid);
        var served = new MemoryStream();
        await content.CopyToAsync(served);
        Assert.Equal(bytes, served.ToArray());
    }

    [Fact]
    public async Task A_restart_keeps_uids_uidvalidity_flags_keywords_modseqs_and_internal_dates()
    {
        var date = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        await _f.AppendAsync("one", new AppendOptions(InternalDate: date));
        var two = await _f.AppendAsync("two");
        await _f.Store.UpdateFlagsAsync(User, "INBOX", [two.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen, ["$Label1"]));
        await _f.Store.CreateFolderAsync(User, "Archive", SpecialUse.Archive);
        var before = await _f.Store.ListMessagesAsync(User, "INBOX");
        var status = await _f.Store.GetStatusAsync(User, "INBOX");

        var store = _f.Restart();
        Assert.Equal(before, await store.ListMessagesAsync(User, "INBOX"), new MessageInfoComparer());
        var after = await store.GetStatusAsync(User, "INBOX");
        Assert.Equal(status, after);
        Assert.Equal(date, (await store.ListMessagesAsync(User, "INBOX"))[0].InternalDate);
        Assert.Contains(await store.ListFoldersAsync(User), f => f.Name == "Archive" && f.SpecialUse == SpecialUse.Archive);
        var three = await store.AppendAsync(User, "INBOX", StoreFixture.Message("three"));
        Assert.Equal(status.UidNext, three.Uid);
    }

    [Fact]
    public async Task A_message_another_program_drops_into_new_appears_with_a_new_uid_and_a_notification()
    {
        var first = await _f.AppendAsync("ours");
        using var changes = new ChangeLog(_f.Store.Subscribe(User));
        // Another MDA: write to tmp/, rename into new/.
        var bytes = Encoding.ASCII.GetBytes("From: mda@example.org\r\nSubject: dropped\r\n\r\nhi\r\n");
        var tmp = Path.Combine(_f.Inbox, "tmp", "1700000000.M1P99.other");
        await File.WriteAllBytesAsync(tmp, bytes);
        File.Move(tmp, Path.Combine(_f.Inbox, "new", "1700000000.M1P99.other"));

        var list = await _f.Store.ListMessagesAsync(User, "INBOX");
        Assert.Equal(2, list.Count);
        var dropped = list[1];
        Assert.True(dropped.Uid > first.Uid);
        Assert.Equal(bytes.Length, dropped.Size);
        var added = Assert.Single(changes.Changes);
        Assert.Equal(MailboxChangeKind.MessageAdded, added.Kind);
        Assert.Equal(dropped.Uid, added.Uid);
        await using var content = await _f.Store.OpenContentAsync(User, "INBOX", dropped.Uid);
        var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task A_file_with_lf_line_ends_from_another_mda_is_counted_and_served_with_crlf()
    {
        // procmail and friends write LF files with no size in the name.
        Assert.Empty(await _f.Store.ListMessagesAsync(User, "INBOX"));
        await File.WriteAllTextAsync(Path.Combine(_f.Inbox, "new", "1700000002.M3P7.mda"), "From: x@example.org\nSubject: lf\n\nline one\r\nline two\n");
        var expected = Encoding.ASCII.GetBytes("From: x@example.org\r\nSubject: lf\r\n\r\nline one\r\nline two\r\n");
        var info = Assert.Single(await _f.Store.ListMessagesAsync(User, "INBOX"));
        Assert.Equal(expected.Length, info.Size);
        Assert.Equal(expected.Length, (await _f.Store.GetStatusAsync(User, "INBOX")).Size);
        await using var content = await _f.Store.OpenContentAsync(User, "INBOX", info.Uid);
        Assert.True(content.CanSeek);
        var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        Assert.Equal(expected, copy.ToArray());
        Assert.Equal("lf", (await _f.Store.GetSummaryAsync(User, "INBOX", info.Uid)).Envelope.Subject);

        // Copied and moved, it stays an LF file served with CRLF, in this process and after a restart.
        await _f.Store.CreateFolderAsync(User, "Copies");
        await _f.Store.CreateFolderAsync(User, "Moved");
        var copyUid = (await _f.Store.CopyAsync(User, "INBOX", [info.Uid], "Copies")).TargetUids[0];
        var moveUid = (await _f.Store.MoveAsync(User, "INBOX", [info.Uid], "Moved")).TargetUids[0];
        for (var round = 0; round < 2; round++)
        {
            var store = round == 0 ? _f.Store : _f.Restart();
            foreach (var (folder, uid) in new[] { ("Copies", copyUid), ("Moved", moveUid) })
            {
                Assert.Equal(expected.Length, Assert.Single(await store.ListMessagesAsync(User, folder)).Size);
                await using var copied = await store.OpenContentAsync(User, folder, uid);
                var bytes = new MemoryStream();
                await copied.CopyToAsync(bytes);
                Assert.Equal(expected, bytes.ToArray());
            }
        }
    }

    [Fact]
    public async Task Subscribers_hear_of_a_message_another_program_delivers_without_calling_the_store()
    {
        await _f.AppendAsync("ours");
        using var changes = new ChangeLog(_f.Store.Subscribe(User));
        var name = "1700000001.M2P99.other";
        await File.WriteAllTextAsync(Path.Combine(_f.Inbox, "tmp", name), "Subject: pushed\r\n\r\nhi\r\n");
        File.Move(Path.Combine(_f.Inbox, "tmp", name), Path.Combine(_f.Inbox, "new", name));
        // The store polls subscribed users' open folders (every 2 s by default): an IMAP IDLE session learns of it
        // at the next poll, not before. The poll runs on the store's clock, which the test moves.
        _f.Time.Advance(StoreFixture.PollInterval - TimeSpan.FromMilliseconds(1));
        Assert.Empty(changes.Changes);
        _f.Time.Advance(TimeSpan.FromMilliseconds(1));
        var added = Assert.Single(changes.Changes);
        Assert.Equal((MailboxChangeKind.MessageAdded, 2u), (added.Kind, added.Uid));
    }

    [Fact]
    public async Task Files_deleted_or_reflagged_by_another_program_become_expunges_and_flag_changes()
    {
        var a = await _f.AppendAsync("a");
        var b = await _f.AppendAsync("b");
        using var changes = new ChangeLog(_f.Store.Subscribe(User));
        var files = Directory.GetFiles(Path.Combine(_f.Inbox, "new")).Order(StringComparer.Ordinal).ToArray();
        var fileOfA = files.Single(p => File.ReadAllText(p).Contains("Subject: a\r\n", StringComparison.Ordinal));
        var fileOfB = files.Single(p => p != fileOfA);
        File.Delete(fileOfA);
        // mutt marks b read: new/ -> cur/ with ":2,S".
        File.Move(fileOfB, Path.Combine(_f.Inbox, "cur", Path.GetFileName(fileOfB) + ":2,S"));

        var remaining = Assert.Single(await _f.Store.ListMessagesAsync(User, "INBOX"));
        Assert.Equal(b.Uid, remaining.Uid);
        Assert.Equal(MessageFlags.Seen, remaining.Flags);
        Assert.Contains(changes.Changes, c => c.Kind == MailboxChangeKind.MessageExpunged && c.Uid == a.Uid);
        Assert.Contains(changes.Changes, c => c.Kind == MailboxChangeKind.FlagsChanged && c.Uid == b.Uid);
        // The store still finds b's content under its new name.
        await using var content = await _f.Store.OpenContentAsync(User, "INBOX", b.Uid);
        Assert.True(content.Length > 0);
    }

    [Fact]
    public async Task An_unreadable_index_is_rebuilt_from_the_maildir_with_a_warning_and_a_new_uidvalidity()
    {
        await _f.AppendAsync("a");
        await _f.AppendAsync("b", new AppendOptions(MessageFlags.Seen));
        var before = await _f.Store.GetStatusAsync(User, "INBOX");
        _f.Store.Dispose();
        await File.WriteAllBytesAsync(Path.Combine(_f.Inbox, "mailprotocols.index"), [0x00, 0xFF, 0x13, 0x37, (byte)'\n', (byte)'x']);
        _f.Time.Advance(TimeSpan.FromSeconds(1)); // a new UIDVALIDITY comes from the clock, in whole seconds

        var store = _f.Open();
        using var _ = store;
        var after = await store.GetStatusAsync(User, "INBOX");
        Assert.NotEqual(before.UidValidity, after.UidValidity);
        Assert.Equal(2, after.Messages);
        Assert.Equal(1, after.Unseen);
        Assert.True(_f.Logged(5001));
        Assert.StartsWith("mailprotocols-index 1 ", await File.ReadAllTextAsync(Path.Combine(_f.Inbox, "mailprotocols.index")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_index_tail_keeps_uidvalidity_and_the_uids_before_it_and_never_reuses_a_uid()
    {
        var a = await _f.AppendAsync("a");
        var b = await _f.AppendAsync("b");
        var before = await _f.Store.GetStatusAsync(User, "INBOX");
        _f.Store.Dispose();
        // Cut the index in the middle of b's line and add garbage, as a torn write plus junk would.
        var path = Path.Combine(_f.Inbox, "mailprotocols.index");
        var text = await File.ReadAllTextAsync(path);
        var cut = text.LastIndexOf("\nA ", StringComparison.Ordinal) + 5;
        await File.WriteAllTextAsync(path, text[..cut] + "#garbage\nmore garbage\n");

        var store = _f.Open();
        using var _ = store;
        var after = await store.GetStatusAsync(User, "INBOX");
        Assert.Equal(before.UidValidity, after.UidValidity);
        var list = await store.ListMessagesAsync(User, "INBOX");
        Assert.Equal(a.Uid, list[0].Uid);
        // b lost its index line: it gets a UID past every UID the lost lines could have given.
        Assert.Equal(2, list.Count);
        Assert.True(list[1].Uid > b.Uid);
        Assert.True(_f.Logged(5002));
        var next = await store.AppendAsync(User, "INBOX", StoreFixture.Message("c"));
        Assert.True(next.Uid > list[1].Uid);
    }

    [Fact]
    public async Task Files_with_malformed_names_are_ignored_with_a_warning()
    {
        await _f.AppendAsync("a");
        await File.WriteAllTextAsync(Path.Combine(_f.Inbox, "cur", "has space:2,S"), "x");
        await File.WriteAllTextAsync(Path.Combine(_f.Inbox, "cur", "1700000000.M1P1.host:1,experimental"), "x");
        await File.WriteAllTextAsync(Path.Combine(_f.Inbox, "new", ".hidden"), "x");
        await File.WriteAllTextAsync(Path.Combine(_f.Inbox, "new", "tab\tname"), "x");

        var list = await _f.Store.ListMessagesAsync(User, "INBOX");
        Assert.Single(list);
        Assert.True(_f.Logged(5003));
        // Still healthy afterwards, also across a restart.
        await _f.AppendAsync("b");
        Assert.Equal(2, (await _f.Restart().ListMessagesAsync(User, "INBOX")).Count);
    }

    [Fact]
    public async Task A_second_store_on_the_same_user_is_refused_while_the_first_holds_it()
    {
        await _f.AppendAsync("a");
        using var second = _f.Open();
        var error = await Assert.ThrowsAsync<MailboxStoreException>(async () => await second.ListMessagesAsync(User, "INBOX"));
        Assert.Equal(MailboxStoreError.Unavailable, error.Error);
        // Another user of the same root is fine.
        Assert.Empty(await second.ListMessagesAsync("bob@example.test", "INBOX"));
    }

    [Fact]
    public async Task Folder_names_are_maildir_plus_plus_directories_in_modified_utf7()
    {
        await _f.Store.CreateFolderAsync(User, "Entwürfe/Alt & Neu");
        Assert.True(Directory.Exists(Path.Combine(_f.Inbox, ".Entw&APw-rfe", "cur")));
        Assert.True(Directory.Exists(Path.Combine(_f.Inbox, ".Entw&APw-rfe.Alt &- Neu", "cur")));
        Assert.True(File.Exists(Path.Combine(_f.Inbox, ".Entw&APw-rfe.Alt &- Neu", "maildirfolder")));
        var names = (await _f.Restart().ListFoldersAsync(User)).Select(f => f.Name).ToList();
        Assert.Equal(["INBOX", "Entwürfe", "Entwürfe/Alt & Neu"], names);
        var dot = await Assert.ThrowsAsync<MailboxStoreException>(async () => await _f.Store.CreateFolderAsync(User, "Mr. Smith"));
        Assert.Equal(MailboxStoreError.InvalidName, dot.Error);
        var escape = await Assert.ThrowsAsync<MailboxStoreException>(async () => await _f.Store.ListMessagesAsync("../etc", "INBOX"));
        Assert.Equal(MailboxStoreError.InvalidName, escape.Error);
    }

    [Fact]
    public async Task Summaries_are_kept_beside_the_index_and_survive_a_restart()
    {
        var a = await _f.AppendAsync("cached subject");
        var first = await _f.Store.GetSummaryAsync(User, "INBOX", a.Uid);
        Assert.Equal("cached subject", first.Envelope.Subject);
        Assert.Contains($"\n{a.Uid} ", await File.ReadAllTextAsync(Path.Combine(_f.Inbox, "mailprotocols.summaries")), StringComparison.Ordinal);

        var store = _f.Restart();
        // Rewrite the file in place: only a summary read from the cache still shows the old subject.
        var file = Directory.GetFiles(Path.Combine(_f.Inbox, "new")).Single();
        var modified = File.GetLastWriteTimeUtc(file);
        await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(file)).Replace("cached subject", "changed subject", StringComparison.Ordinal));
        File.SetLastWriteTimeUtc(file, modified);
        var second = await store.GetSummaryAsync(User, "INBOX", a.Uid);
        Assert.Equal("cached subject", second.Envelope.Subject);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(first), System.Text.Json.JsonSerializer.Serialize(second));
    }

    [Fact]
    public async Task A_summary_cache_of_an_old_format_is_rebuilt_not_read()
    {
        var a = await _f.Store.AppendAsync(User, "INBOX", new MemoryStream("Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody\r\n"u8.ToArray()));
        var current = await _f.Store.GetSummaryAsync(User, "INBOX", a.Uid);
        var path = Path.Combine(_f.Inbox, "mailprotocols.summaries");
        var lines = await File.ReadAllLinesAsync(path);
        Assert.Equal($"mailprotocols-summaries 4 {a.UidValidity}", lines[0]);

        // What version 1 wrote for this message: the subject decoded and no header end, which version 4 would misread.
        var old = current with { Envelope = current.Envelope with { Subject = "café" }, BodyOffset = 0 };
        await File.WriteAllTextAsync(path, $"mailprotocols-summaries 1 {a.UidValidity}\n{a.Uid} {System.Text.Json.JsonSerializer.Serialize(old)}\n");

        var store = _f.Restart();
        var summary = await store.GetSummaryAsync(User, "INBOX", a.Uid);
        Assert.Equal("=?utf-8?q?caf=C3=A9?=", summary.Envelope.Subject);
        Assert.Equal(current.BodyOffset, summary.BodyOffset);
        lines = await File.ReadAllLinesAsync(path);
        Assert.Equal($"mailprotocols-summaries 4 {a.UidValidity}", lines[0]);
        Assert.DoesNotContain(lines, l => l.Contains("café", StringComparison.Ordinal));
    }

    // Version 2 read header octets that are not UTF-8 as Latin-1 ("résumé" as U+00E9, sent by IMAP as UTF-8); versions
    // 3 and 4 keep them as escapes. A version 2 cache is rebuilt, and the escapes go through the cache file and back.
    [Fact]
    public async Task A_version_2_cache_of_latin1_headers_is_rebuilt_and_escaped_octets_round_trip()
    {
        var message = System.Text.Encoding.Latin1.GetBytes("Subject: r\u00e9sum\u00e9\r\nFrom: Jos\u00e9 <jose@example.es>\r\n\r\nbody\r\n");
        var a = await _f.Store.AppendAsync(User, "INBOX", new MemoryStream(message));
        var current = await _f.Store.GetSummaryAsync(User, "INBOX", a.Uid);
        Assert.Equal("r\uDCE9sum\uDCE9", current.Envelope.Subject);
        var path = Path.Combine(_f.Inbox, "mailprotocols.summaries");
        // The escapes are written as octets (base64 of "résumé" in Latin-1), not as U+FFFD.
        Assert.Contains("{\"octets\":\"culzdW3p\"}", await File.ReadAllTextAsync(path), StringComparison.Ordinal);

        var old = current with { Envelope = current.Envelope with { Subject = "r\u00e9sum\u00e9" } };
        await File.WriteAllTextAsync(path, $"mailprotocols-summaries 2 {a.UidValidity}\n{a.Uid} {System.Text.Json.JsonSerializer.Serialize(old)}\n");

        var store = _f.Restart();
        Assert.Equal("r\uDCE9sum\uDCE9", (await store.GetSummaryAsync(User, "INBOX", a.Uid)).Envelope.Subject);
        Assert.Equal($"mailprotocols-summaries 4 {a.UidValidity}", (await File.ReadAllLinesAsync(path))[0]);

        // Read back from the rebuilt cache by a third instance.
        var third = _f.Restart();
        var cached = await third.GetSummaryAsync(User, "INBOX", a.Uid);
        Assert.Equal("r\uDCE9sum\uDCE9", cached.Envelope.Subject);
        Assert.Equal("Jos\uDCE9", Assert.Single(cached.Envelope.From).Name);
    }

    // Version 4 keeps the header's octets (MessageSummary.Header), non-UTF-8 and folded ones as they are: a restart reads
    // them from the cache file, not from the message.
    [Fact]
    public async Task The_header_octets_go_through_the_cache_file_and_survive_a_restart()
    {
        var message = System.Text.Encoding.Latin1.GetBytes("Subject: r\u00e9sum\u00e9\r\n folded\r\nX-Raw: \u00ff\u0080\r\n\r\nbody\r\n");
        var a = await _f.Store.AppendAsync(User, "INBOX", new MemoryStream(message));
        var header = message.AsSpan(0, message.Length - "body\r\n".Length).ToArray();
        var first = Assert.Single(await _f.Store.GetSummariesAsync(User, "INBOX", [a.Uid])).Summary;
        Assert.True(first.HasHeader);
        Assert.Equal(header, first.Header!.Value.ToArray());

        var store = _f.Restart();
        var file = Directory.GetFiles(Path.Combine(_f.Inbox, "new")).Single();
        var modified = File.GetLastWriteTimeUtc(file);
        await File.WriteAllBytesAsync(file, System.Text.Encoding.Latin1.GetBytes("Subject: r\u00e9sum\u00e8\r\n folded\r\nX-Raw: \u00ff\u0081\r\n\r\nbody\r\n"));
        File.SetLastWriteTimeUtc(file, modified);
        var before = store.GateEntries;
        var cached = Assert.Single(await store.GetSummariesAsync(User, "INBOX", [a.Uid])).Summary;
        Assert.Equal(1, store.GateEntries - before); // nothing read from the message
        Assert.True(cached.HasHeader);
        Assert.Equal(header, cached.Header!.Value.ToArray());
    }

    // A version 3 cache holds right summaries without the header's octets: it is upgraded, not rebuilt. Its summaries are
    // kept (not parsed again), the header of each is read from the first octets of its file when first asked for and
    // appended to the file, and the next instance reads it from there.
    [Fact]
    public async Task A_version_3_cache_is_upgraded_and_the_headers_are_filled_in_from_the_files()
    {
        var a = await _f.AppendAsync("upgraded");
        var b = await _f.AppendAsync("second");
        var path = Path.Combine(_f.Inbox, "mailprotocols.summaries");
        var current = await _f.Store.GetSummariesAsync(User, "INBOX", [a.Uid, b.Uid]);
        var headers = current.Select(e => e.Summary.Header!.Value.ToArray()).ToList();
        // What version 3 wrote, with a subject of its own so that a summary parsed again would show.
        var v3 = current.Select(e => e.Summary with { Header = null, Envelope = e.Summary.Envelope with { Subject = "from v3 " + e.Summary.Envelope.Subject } }).ToList();
        await File.WriteAllTextAsync(path, $"mailprotocols-summaries 3 {a.UidValidity}\n" +
            string.Concat(current.Select((e, i) => $"{e.Info.Uid} {System.Text.Json.JsonSerializer.Serialize(v3[i])}\n")));

        var store = _f.Restart();
        var upgraded = await store.GetSummariesAsync(User, "INBOX", [a.Uid, b.Uid]);
        Assert.Equal(["from v3 upgraded", "from v3 second"], upgraded.Select(e => e.Summary.Envelope.Subject));
        Assert.All(upgraded, e => Assert.True(e.Summary.HasHeader));
        Assert.Equal(headers, upgraded.Select(e => e.Summary.Header!.Value.ToArray()));
        var lines = await File.ReadAllLinesAsync(path);
        Assert.Equal($"mailprotocols-summaries 4 {a.UidValidity}", lines[0]);
        Assert.Equal(5, lines.Length); // the version 3 lines kept, then each with its header

        var third = _f.Restart();
        var before = third.GateEntries;
        var read = await third.GetSummariesAsync(User, "INBOX", [a.Uid, b.Uid]);
        Assert.Equal(1, third.GateEntries - before); // all from the cache file: no header to fill in
        Assert.Equal(["from v3 upgraded", "from v3 second"], read.Select(e => e.Summary.Envelope.Subject));
        Assert.Equal(headers, read.Select(e => e.Summary.Header!.Value.ToArray()));
    }

    private sealed class MessageInfoComparer : IEqualityComparer<MessageInfo>
    {
        public bool Equals(MessageInfo? x, MessageInfo? y) =>
            x is not null && y is not null && x.Uid == y.Uid && x.Flags == y.Flags && x.Keywords.SequenceEqual(y.Keywords)
            && x.InternalDate == y.InternalDate && x.Size == y.Size && x.ModSeq == y.ModSeq;

        public int GetHashCode(MessageInfo obj) => (int)obj.Uid;
    }
}
