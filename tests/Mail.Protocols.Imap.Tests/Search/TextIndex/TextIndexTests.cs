using System.Reflection;
using System.Text;
using Mail.Protocols.Imap.Search;
using Mail.Protocols.Imap.Search.TextIndex;
using Mail.Protocols.Maildir;
using Mail.Protocols.Storage;
using K = Mail.Protocols.Imap.Search.SearchKeyKind;

namespace Mail.Protocols.Imap.Tests.Search.TextIndex;

/// <summary>
/// The word index of SEARCH BODY/TEXT: its answers equal the scan's for generated mail and needles (the first search, which
/// indexes, and the later ones, which read the index), a second search reads no content, and a Maildir keeps the index across a
/// restart and rebuilds a damaged one.
/// </summary>
public sealed class TextIndexTests
{
    private static SearchKey Str(K kind, string value) => SearchKey.String(kind, value);

    [Fact]
    public void Characters_that_compare_equal_without_case_are_both_word_characters_or_both_separators()
    {
        // The exactness of the index rests on this (see WordChars): checked for every UTF-16 code unit and its case pairs.
        for (var i = 0; i <= char.MaxValue; i++)
        {
            var c = (char)i;
            foreach (var other in new[] { char.ToUpperInvariant(c), char.ToLowerInvariant(c) })
            {
                if (other != c && string.Equals(c.ToString(), other.ToString(), StringComparison.OrdinalIgnoreCase))
                {
                    Assert.True(WordChars.IsWord(c) == WordChars.IsWord(other), $"U+{i:X4} and U+{(int)other:X4}");
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Index_answers_equal_the_scan_for_generated_mail_and_needles(int seed)
    {
        var mail = new GeneratedMail(seed);
        var messages = Enumerable.Range(0, 120)
            .Select(_ => new SearchFolder.TestMessage(mail.Message(), MessageFlags.None, [], DateTimeOffset.UnixEpoch))
            .ToArray();
        // Besides the generated needles, parts of field names: the top-level header's words are its names' runs too.
        var needles = Enumerable.Range(0, 90).Select(_ => mail.Needle()).Concat(["ubjec", "x-words", "Version", "MIME", "ORDS"]).Distinct().ToList();
        var folder = await SearchFolder.CreateAsync(messages);

        var reference = new Dictionary<string, (uint[] Body, uint[] Text)>();
        foreach (var needle in needles)
        {
            var body = new List<uint>();
            var text = new List<uint>();
            for (var i = 0; i < folder.Messages.Count; i++)
            {
                var (inBody, inText) = await ScanReference.MatchAsync(folder.Store, SearchFolder.User, SearchFolder.Folder, folder.Messages[i].Uid, needle);
                if (inBody)
                {
                    body.Add((uint)(i + 1));
                }
                if (inText)
                {
                    text.Add((uint)(i + 1));
                }
            }
            reference[needle] = ([.. body], [.. text]);
        }
        Assert.Contains(reference.Values, r => r.Body.Length > 0);
        Assert.Contains(reference.Values, r => r.Text.Length > r.Body.Length);

        // The first search indexes every message and answers from the words it just read; a needle's second search reads the index.
        foreach (var needle in needles)
        {
            for (var round = 0; round < 2; round++)
            {
                var body = await folder.Find(Str(K.Body, needle));
                Assert.True(reference[needle].Body.AsSpan().SequenceEqual(body), $"BODY \"{Escape(needle)}\", round {round}");
                var text = await folder.Find(Str(K.Text, needle));
                Assert.True(reference[needle].Text.AsSpan().SequenceEqual(text), $"TEXT \"{Escape(needle)}\", round {round}");
            }
        }

        // Several strings in one key, each answered by the index or the scan as it needs.
        for (var i = 0; i + 2 < needles.Count; i += 3)
        {
            var (a, b, c) = (needles[i], needles[i + 1], needles[i + 2]);
            var expected = Enumerable.Range(1, folder.Messages.Count).Select(n => (uint)n)
                .Where(n => reference[a].Text.Contains(n) && (reference[b].Body.Contains(n) || !reference[c].Text.Contains(n)))
                .ToArray();
            var key = SearchKey.And([Str(K.Text, a), SearchKey.Or(Str(K.Body, b), SearchKey.Not(Str(K.Text, c)))]);
            Assert.Equal(expected, await folder.Find(key));
        }

        // HEADER: each field's values, the same needles (and the empty string: the field is there).
        string[] fields = ["Subject", "subject", "X-Words", "From", "Content-Type", "MIME-Version", "X-Absent"];
        foreach (var needle in needles.Take(40).Append(""))
        {
            foreach (var field in fields)
            {
                var expected = new List<uint>();
                for (var i = 0; i < folder.Messages.Count; i++)
                {
                    if (await HeaderReference.MatchAsync(folder.Store, SearchFolder.User, SearchFolder.Folder, folder.Messages[i].Uid, field, needle))
                    {
                        expected.Add((uint)(i + 1));
                    }
                }
                for (var round = 0; round < 2; round++)
                {
                    var found = await folder.Find(SearchKey.Header(field, needle));
                    Assert.True(expected.ToArray().AsSpan().SequenceEqual(found), $"HEADER {field} \"{Escape(needle)}\", round {round}");
                }
            }
        }

        // A fresh folder answers from the words read while indexing (every needle at once in its first search).
        var fresh = await SearchFolder.CreateAsync(messages);
        var all = SearchKey.Or(Str(K.Body, needles[0]), SearchKey.Or(Str(K.Text, needles[1]), SearchKey.Header("X-Words", needles[2])));
        var xWords = new List<uint>();
        for (var i = 0; i < folder.Messages.Count; i++)
        {
            if (await HeaderReference.MatchAsync(folder.Store, SearchFolder.User, SearchFolder.Folder, folder.Messages[i].Uid, "X-Words", needles[2]))
            {
                xWords.Add((uint)(i + 1));
            }
        }
        var union = reference[needles[0]].Body.Union(reference[needles[1]].Text).Union(xWords).Order().ToArray();
        Assert.Equal(union, await fresh.Find(all));
        Assert.Equal(union, await fresh.Find(all));
    }

    [Fact]
    public async Task A_second_search_reads_no_content_and_one_with_separators_reads_only_the_candidates()
    {
        var messages = Enumerable.Range(0, 40)
            .Select(i => new SearchFolder.TestMessage(
                $"Subject: note {i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{(i % 7 == 0 ? "A zephyr came through the server room." : i % 5 == 0 ? "The zephyr, the room." : "Nothing here.")}\r\n",
                MessageFlags.None, [], DateTimeOffset.UnixEpoch))
            .ToArray();
        var folder = await SearchFolder.CreateAsync(messages);
        var expected = Enumerable.Range(1, 40).Where(n => (n - 1) % 7 == 0 || (n - 1) % 5 == 0).Select(n => (uint)n).ToArray();

        Assert.Equal(expected, await folder.Find(Str(K.Text, "ZEPHYR")));
        Assert.Equal(40, folder.Calls["OpenContentAsync"]);
        Assert.Equal(expected, await folder.Find(Str(K.Text, "zephyr")));
        Assert.Equal(expected, await folder.Find(Str(K.Body, "ephy")));
        Assert.Equal(40, folder.Calls["OpenContentAsync"]);

        // "zephyr came" needs "zephyr" and "came" in words of one message: only those 6 are read, to verify.
        var sevenths = Enumerable.Range(1, 40).Where(n => (n - 1) % 7 == 0).Select(n => (uint)n).ToArray();
        Assert.Equal(sevenths, await folder.Find(Str(K.Body, "zephyr came")));
        Assert.Equal(40 + sevenths.Length, folder.Calls["OpenContentAsync"]);
        // "zephyr room" is in no message, though both words are in the same ones: those are read and found not to have it.
        Assert.Empty(await folder.Find(Str(K.Body, "zephyr room")));
        // Header words: "note" is in every Subject, for TEXT only, without reading content.
        var before = folder.Calls["OpenContentAsync"];
        Assert.Equal(40, (await folder.Find(Str(K.Text, "note"))).Length);
        Assert.Empty(await folder.Find(Str(K.Body, "note")));
        Assert.Equal(before, folder.Calls["OpenContentAsync"]);
    }

    [Fact]
    public async Task A_quoted_printable_escape_cut_by_a_chunk_border_is_decoded_by_the_scan_and_the_index()
    {
        // The first chunk (16 KiB) ends after "=", the next one is a whole chunk: its decoded length may exceed its own.
        var body = new string('a', 16_383) + "=C3=BC" + new string('b', 20_000) + " zephyr\r\n";
        var folder = await SearchFolder.CreateAsync(new SearchFolder.TestMessage(
            "Subject: qp\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + body,
            MessageFlags.None, [], DateTimeOffset.UnixEpoch));
        var (inBody, _) = await ScanReference.MatchAsync(folder.Store, SearchFolder.User, SearchFolder.Folder, folder.Messages[0].Uid, "zephyr");
        Assert.True(inBody);
        Assert.Equal(new uint[] { 1u }, await folder.Find(Str(K.Body, "zephyr")));
        Assert.Equal(new uint[] { 1u }, await folder.Find(Str(K.Body, "aÜb")));
        Assert.Equal(new uint[] { 1u }, await folder.Find(Str(K.Text, "Übbb")));
    }

    [Fact]
    public async Task A_run_longer_than_a_word_answers_short_strings_from_its_pieces_and_verifies_long_ones()
    {
        var random = new Random(5);
        const string letters = "ghijklmnpqsuvwxyz"; // none of "before after", the other message's body
        var run = new string(Enumerable.Range(0, 700).Select(_ => letters[random.Next(letters.Length)]).ToArray());
        var folder = await SearchFolder.CreateAsync(
            new SearchFolder.TestMessage($"Subject: long\r\nX-Token: {run[..300]}\r\n\r\nbefore {run} after\r\n", MessageFlags.None, [], DateTimeOffset.UnixEpoch),
            new SearchFolder.TestMessage("Subject: short\r\n\r\nbefore after\r\n", MessageFlags.None, [], DateTimeOffset.UnixEpoch));
        Assert.Equal(new uint[] { 1u }, await folder.Find(Str(K.Body, run[..5])));
        Assert.Equal(2, folder.Calls["OpenContentAsync"]);
        // Every string up to MaxExactLength inside the run is inside one of its pieces: found, and absent elsewhere, without reading.
        for (var length = 1; length <= TextIndexLimits.MaxExactLength; length += 6)
        {
            for (var start = 0; start + length <= run.Length; start += 13)
            {
                Assert.Equal(new uint[] { 1u }, await folder.Find(Str(K.Body, run.Substring(start, length).ToUpperInvariant())));
            }
        }
        Assert.Empty(await folder.Find(Str(K.Body, "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"[..TextIndexLimits.MaxExactLength])));
        Assert.Equal(2, folder.Calls["OpenContentAsync"]);
        // A longer string may lie across pieces (these from 130 do: pieces start every 48): found by the scan of the message that
        // has long runs, the other one not read; one inside a piece is found there.
        Assert.Equal(new uint[] { 1u }, await folder.Find(Str(K.Body, run.Substring(130, 90))));
        Assert.Empty(await folder.Find(Str(K.Body, string.Concat(run.AsSpan(130, 89), "!"))));
        Assert.Equal(4, folder.Calls["OpenContentAsync"]);
        Assert.Equal(new uint[] { 1u }, await folder.Find(Str(K.Body, run.Substring(96, TextIndexLimits.MaxWordLength))));

        // The same in a header field's value, for HEADER: short strings from the pieces, long ones across pieces verified.
        Assert.Equal(new uint[] { 1u }, await folder.Find(SearchKey.Header("X-Token", run.Substring(200, TextIndexLimits.MaxExactLength))));
        Assert.Equal(4, folder.Calls["OpenContentAsync"]);
        Assert.Equal(new uint[] { 1u }, await folder.Find(SearchKey.Header("X-Token", run.Substring(130, 90))));
        Assert.Empty(await folder.Find(SearchKey.Header("X-Token", string.Concat(run.AsSpan(130, 89), "!"))));
        Assert.Empty(await folder.Find(SearchKey.Header("X-Token", run.Substring(250, 80))));
        // Those verified read the header the summary keeps (the header cache), not the message.
        Assert.Equal(4, folder.Calls["OpenContentAsync"]);
    }

    [Fact]
    public async Task A_session_search_answered_by_the_index_asks_for_no_summary_and_no_content()
    {
        var folder = await SearchFolder.StandardAsync();
        var uids = folder.Messages.Select(m => m.Uid).ToArray();
        async Task<uint[]> Find(SearchKey key) =>
            (await SearchEvaluator.EvaluateAsync(key, new SearchScope(folder.Store, SearchFolder.User, SearchFolder.Folder, uids))).SequenceNumbers.ToArray();

        Assert.Equal(new uint[] { 1u }, await Find(Str(K.Text, "library")));
        var (summaries, contents) = (folder.Calls["GetSummariesAsync"], folder.Calls["OpenContentAsync"]);
        Assert.Equal(new uint[] { 1u }, await Find(Str(K.Text, "LIBRARY")));
        Assert.Equal(new uint[] { 2u, 3, 4, 5 }, await Find(SearchKey.Not(Str(K.Body, "librar"))));
        Assert.Equal(new uint[] { 1u }, await Find(SearchKey.And([SearchKey.Simple(K.Seen), Str(K.Text, "noon")])));
        Assert.Equal((summaries, contents), (folder.Calls["GetSummariesAsync"], folder.Calls["OpenContentAsync"]));
        // An envelope key still needs the summaries; then the index answers the text.
        Assert.Equal(new uint[] { 1u }, await Find(SearchKey.And([Str(K.From, "alice"), Str(K.Body, "noon")])));
        Assert.Equal(contents, folder.Calls["OpenContentAsync"]);
    }

    [Fact]
    public async Task Searches_that_index_the_same_folder_at_once_agree_with_one_after_another()
    {
        var mail = new GeneratedMail(11);
        var messages = Enumerable.Range(0, 60)
            .Select(_ => new SearchFolder.TestMessage(mail.Message(), MessageFlags.None, [], DateTimeOffset.UnixEpoch))
            .ToArray();
        var keys = Enumerable.Range(0, 8).Select(i => i % 3 == 0 ? SearchKey.Header("Subject", mail.Needle()) : Str(i % 2 == 0 ? K.Body : K.Text, mail.Needle())).ToArray();
        var sequential = await SearchFolder.CreateAsync(messages);
        var expected = new List<uint[]>();
        foreach (var key in keys)
        {
            expected.Add(await sequential.Find(key));
        }
        var concurrent = await SearchFolder.CreateAsync(messages);
        var found = await Task.WhenAll(keys.Select(key => Task.Run(() => concurrent.Find(key))));
        Assert.Equal(expected, found);
        Assert.Equal(expected, await Task.WhenAll(keys.Select(key => Task.Run(() => concurrent.Find(key)))));
    }

    [Fact]
    public async Task Needles_beyond_the_index_bounds_are_scanned_for_and_still_exact()
    {
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(new uint[] { 1u }, await folder.Find(Str(K.Body, "library")));
        // Many runs in one needle: only the longest few are looked up, the candidates verified.
        var sentence = "Let's meet at noon in the library.";
        Assert.Equal(new uint[] { 1u }, await folder.Find(Str(K.Body, sentence)));
        Assert.Empty(await folder.Find(Str(K.Body, sentence.Replace("noon", "nine", StringComparison.Ordinal))));
        // More strings than one search looks up: those beyond the bound are scanned for.
        var words = Enumerable.Range(0, 40).Select(i => Str(K.Text, $"absent{i}")).ToList();
        words.Add(Str(K.Text, "library"));
        var any = words.Aggregate(SearchKey.Or);
        Assert.Equal(new uint[] { 1u }, await folder.Find(any));
        Assert.Equal(new uint[] { 2u, 3, 4, 5 }, await folder.Find(SearchKey.Not(any)));
    }

    [Fact]
    public async Task Header_keys_are_answered_by_the_index_and_read_only_to_verify_strings_with_separators()
    {
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(new uint[] { 1u }, await folder.Find(SearchKey.And([SearchKey.Header("X-Mailer", "Plain"), Str(K.Text, "library")])));
        var contents = folder.Calls["OpenContentAsync"];
        Assert.Equal(new uint[] { 1u }, await folder.Find(SearchKey.Header("x-mailer", "WRITER")));
        Assert.Equal(new uint[] { 1u }, await folder.Find(SearchKey.Header("X-Mailer", "")));
        Assert.Empty(await folder.Find(SearchKey.Header("X-Mailer", "library")));
        Assert.Empty(await folder.Find(SearchKey.Header("X-Absent", "")));
        Assert.Empty(await folder.Find(SearchKey.Header("X-Mailer", "Writer 2.0")));
        Assert.Equal(contents, folder.Calls["OpenContentAsync"]);
        // With separators, the one message whose X-Mailer has both runs is verified, from the header its summary keeps
        // (the header cache): still no message is read.
        Assert.Equal(new uint[] { 1u }, await folder.Find(SearchKey.Header("X-Mailer", "Plain Writer")));
        Assert.Equal(contents, folder.Calls["OpenContentAsync"]);
    }

    [Fact]
    public void An_index_file_reads_back_as_it_was_and_a_damaged_one_or_one_of_another_uidvalidity_is_not_trusted()
    {
        var index = new FolderTextIndex(77);
        var first = new MessageWords();
        first.Body.UnionWith(["zephyr", "Straße", "x😀y"]);
        first.Headers.UnionWith(["Subject", "note"]);
        var second = new MessageWords { Flags = WordFlags.BodyIncomplete | WordFlags.HeadersLongRuns };
        second.Body.UnionWith(["ZEPHYRS", "room"]);
        Assert.True(index.Add(10, first));
        Assert.True(index.Add(3, second));
        Assert.False(index.Add(10, first));
        var file = index.Serialize();
        // The estimate counts each word's string and entry (what bounds the index), as built and as read back.
        Assert.True(index.Bytes > 7 * 100, $"{index.Bytes}");

        var loaded = FolderTextIndex.TryLoad(file, 77);
        Assert.NotNull(loaded);
        Assert.True(loaded.Bytes > 7 * 100, $"{loaded.Bytes}");
        string[] strings = ["zephyr", "STRASSE", "straße", "😀", "note", "room", "absent"];
        var expected = index.Query(strings);
        var actual = loaded.Query(strings);
        for (var s = 0; s < strings.Length; s++)
        {
            Assert.Equal(expected[s].Body.Cast<bool>(), actual[s].Body.Cast<bool>());
            Assert.Equal(expected[s].Headers.Cast<bool>(), actual[s].Headers.Cast<bool>());
        }
        Assert.Equal([true, true], actual[0].Body.Cast<bool>());
        Assert.Equal([true, false], actual[2].Body.Cast<bool>());
        Assert.Equal([true, false], actual[4].Headers.Cast<bool>());
        Assert.True(loaded.TryGetDocument(3, out var document, out var flags));
        Assert.Equal((1, WordFlags.BodyIncomplete | WordFlags.HeadersLongRuns), (document, flags));

        Assert.Null(FolderTextIndex.TryLoad(file, 78));
        for (var i = 0; i < file.Length; i += 7)
        {
            var damaged = (byte[])file.Clone();
            damaged[i] ^= 0x20;
            Assert.Null(FolderTextIndex.TryLoad(damaged, 77));
        }
        Assert.Null(FolderTextIndex.TryLoad(file.AsSpan(0, file.Length - 1), 77));
        Assert.Null(FolderTextIndex.TryLoad([], 77));
    }

    [Fact]
    public async Task A_maildir_keeps_the_index_across_a_restart_and_rebuilds_a_damaged_one()
    {
        var root = Directory.CreateTempSubdirectory("mp-textindex-");
        try
        {
            const string user = "indexer";
            using (var store = new MaildirMailboxStore(root.FullName))
            {
                for (var i = 0; i < 30; i++)
                {
                    // No word longer than the index keeps: every message is answered from the index alone.
                    var body = i % 3 == 0 ? "Ein Zephyr wehte durch den Serverraum, Grüße." : "Nichts zu sehen, Grüße.";
                    using var content = new MemoryStream(Encoding.UTF8.GetBytes(
                        $"Subject: =?UTF-8?Q?Nachricht_{i}?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{body.Replace("ü", "=C3=BC", StringComparison.Ordinal)}\r\n"));
                    await store.AppendAsync(user, "INBOX", content);
                }
            }

            uint[] expected;
            using (var store = new MaildirMailboxStore(root.FullName))
            {
                var (counted, calls) = CountingCacheStore.Wrap(store);
                expected = await FindAsync(counted, user, "zephyr");
                Assert.Equal(10, expected.Length);
                Assert.Equal(30, calls["OpenContentAsync"]);
                Assert.Equal(1, calls["WriteFolderCacheAsync"]);
            }
            var file = Path.Combine(root.FullName, user, "mailprotocols.cache." + TextIndexRegistry.CacheName);
            Assert.True(File.Exists(file));

            // A new store over the same Maildir: the index is read from its file, no message is.
            using (var store = new MaildirMailboxStore(root.FullName))
            {
                var (counted, calls) = CountingCacheStore.Wrap(store);
                Assert.Equal(expected, await FindAsync(counted, user, "ZEPHYR"));
                Assert.Equal(0, calls["OpenContentAsync"]);
                Assert.Equal(0, calls["WriteFolderCacheAsync"]);
            }

            // A damaged file is not trusted: every message is read again, and the index written anew.
            var bytes = await File.ReadAllBytesAsync(file);
            bytes[bytes.Length / 2] ^= 0x01;
            await File.WriteAllBytesAsync(file, bytes);
            using (var store = new MaildirMailboxStore(root.FullName))
            {
                var (counted, calls) = CountingCacheStore.Wrap(store);
                Assert.Equal(expected, await FindAsync(counted, user, "zephyr"));
                Assert.Equal(30, calls["OpenContentAsync"]);
                Assert.Equal(1, calls["WriteFolderCacheAsync"]);
            }
            using (var store = new MaildirMailboxStore(root.FullName))
            {
                var (counted, calls) = CountingCacheStore.Wrap(store);
                Assert.Equal(expected, await FindAsync(counted, user, "zephyr"));
                Assert.Equal(0, calls["OpenContentAsync"]);

                // A message that arrives is indexed by the next search that needs it, alone.
                using var content = new MemoryStream(Encoding.UTF8.GetBytes("Subject: late\r\n\r\nA late zephyr.\r\n"));
                await store.AppendAsync(user, "INBOX", content);
                Assert.Equal(expected.Length + 1, (await FindAsync(counted, user, "zephyr")).Length);
                Assert.Equal(1, calls["OpenContentAsync"]);
            }

            // A folder deleted and made again has a new UIDVALIDITY: the old index (and its file) is not used for it.
            using (var store = new MaildirMailboxStore(root.FullName))
            {
                await store.CreateFolderAsync(user, "Archive");
                using (var content = new MemoryStream(Encoding.UTF8.GetBytes("Subject: a\r\n\r\nzephyr\r\n")))
                {
                    await store.AppendAsync(user, "Archive", content);
                }
                var (counted, _) = CountingCacheStore.Wrap(store);
                Assert.Single(await FindAsync(counted, user, "zephyr", "Archive"));
                await store.DeleteFolderAsync(user, "Archive");
                await store.CreateFolderAsync(user, "Archive");
                using (var content = new MemoryStream(Encoding.UTF8.GetBytes("Subject: b\r\n\r\nnothing\r\n")))
                {
                    await store.AppendAsync(user, "Archive", content);
                }
                Assert.Empty(await FindAsync(counted, user, "zephyr", "Archive"));
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static async Task<uint[]> FindAsync(IMailboxStore store, string user, string needle, string folder = "INBOX")
    {
        var messages = await store.ListMessagesAsync(user, folder);
        var result = await SearchEvaluator.EvaluateAsync(Str(K.Text, needle), new SearchScope(store, user, folder, messages));
        return result.Uids.ToArray();
    }

    private static string Escape(string text) => text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>Both store interfaces, for a proxy that counts the calls of either.</summary>
    public interface ICacheStore : IMailboxStore, IFolderCacheStore;

    /// <summary>A store with cache files that counts every call and passes it on.</summary>
    public class CountingCacheStore : DispatchProxy
    {
        private object _inner = null!;
        private SearchFolder.CallCounter _counter = null!;

        internal static (ICacheStore Store, SearchFolder.CallCounter Calls) Wrap(object inner)
        {
            var proxy = Create<ICacheStore, CountingCacheStore>();
            var self = (CountingCacheStore)(object)proxy;
            self._inner = inner;
            self._counter = new SearchFolder.CallCounter();
            return (proxy, self._counter);
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            _counter.Add(targetMethod.Name);
            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }
}
