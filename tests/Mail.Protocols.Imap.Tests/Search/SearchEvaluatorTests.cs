using System.Text;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Search;
using Mail.Protocols.Imap.Tests.Protocol;
using Mail.Protocols.Storage;
using K = Mail.Protocols.Imap.Search.SearchKeyKind;

namespace Mail.Protocols.Imap.Tests.Search;

/// <summary>Each search key over the messages of <see cref="SearchFolder.StandardAsync"/>, built as trees (no parser).</summary>
public sealed class SearchEvaluatorTests
{
    private static SearchKey S(K kind) => SearchKey.Simple(kind);

    private static SearchKey Str(K kind, string value) => SearchKey.String(kind, value);

    private static SearchKey Set(bool uid, string set) => SearchKey.Set(uid, Parse.Read(set, (ref ImapReader r) => r.ReadSequenceSet()));

    [Theory]
    [InlineData("All", new uint[] { 1, 2, 3, 4, 5 })]
    [InlineData("Answered", new uint[] { 2 })]
    [InlineData("Deleted", new uint[] { 4 })]
    [InlineData("Draft", new uint[] { 5 })]
    [InlineData("Flagged", new uint[] { 2 })]
    [InlineData("Seen", new uint[] { 1, 4 })]
    [InlineData("Unanswered", new uint[] { 1, 3, 4, 5 })]
    [InlineData("Undeleted", new uint[] { 1, 2, 3, 5 })]
    [InlineData("Undraft", new uint[] { 1, 2, 3, 4 })]
    [InlineData("Unflagged", new uint[] { 1, 3, 4, 5 })]
    [InlineData("Unseen", new uint[] { 2, 3, 5 })]
    [InlineData("Recent", new uint[0])]
    [InlineData("New", new uint[0])]
    [InlineData("Old", new uint[] { 1, 2, 3, 4, 5 })]
    public async Task Flag_keys_match_the_stored_flags_and_never_call_the_store(string name, uint[] expected)
    {
        var kind = Enum.Parse<K>(name);
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(expected, await folder.Find(S(kind)));
        Assert.Equal(0, folder.Calls.Total);
    }

    [Fact]
    public async Task Keyword_compares_without_case_and_unkeyword_is_its_negation()
    {
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(new uint[] { 3u, 5 }, await folder.Find(SearchKey.Keyword(K.Keyword, "work")));
        Assert.Equal(new uint[] { 2u }, await folder.Find(SearchKey.Keyword(K.Keyword, "$FORWARDED")));
        Assert.Equal(new uint[] { 1u, 2, 4 }, await folder.Find(SearchKey.Keyword(K.Unkeyword, "Work")));
        Assert.Empty(await folder.Find(SearchKey.Keyword(K.Keyword, "$Junk")));
        Assert.Equal(0, folder.Calls.Total);
    }

    [Fact]
    public async Task Internal_date_keys_compare_the_date_in_its_own_offset_and_disregard_the_time()
    {
        var folder = await SearchFolder.StandardAsync();
        var feb9 = new DateOnly(1994, 2, 9);
        // Message 3 arrived 9 Feb 23:30 -0500 (10 Feb in UTC): it is ON the 9th.
        Assert.Equal(new uint[] { 3u }, await folder.Find(SearchKey.DateKey(K.On, feb9)));
        Assert.Equal(new uint[] { 1u, 2 }, await folder.Find(SearchKey.DateKey(K.Before, feb9)));
        Assert.Equal(new uint[] { 3u, 4, 5 }, await folder.Find(SearchKey.DateKey(K.Since, feb9)));
        Assert.Equal(0, folder.Calls.Total);
    }

    [Fact]
    public async Task Sent_date_keys_use_the_date_header_as_written_and_a_message_without_one_matches_none()
    {
        var folder = await SearchFolder.StandardAsync();
        // Message 1 was sent Mon, 7 Feb 21:52 -0800 (the 8th in UTC): SENTON the 7th.
        Assert.Equal(new uint[] { 1u }, await folder.Find(SearchKey.DateKey(K.SentOn, new DateOnly(1994, 2, 7))));
        Assert.Equal(new uint[] { 1u, 2 }, await folder.Find(SearchKey.DateKey(K.SentBefore, new DateOnly(1994, 2, 9))));
        Assert.Equal(new uint[] { 3u, 4 }, await folder.Find(SearchKey.DateKey(K.SentSince, new DateOnly(1994, 2, 9))));
        // Message 5 has no Date: neither before nor since.
        Assert.Equal(new uint[] { 1u, 2, 3, 4 }, await folder.Find(SearchKey.Or(
            SearchKey.DateKey(K.SentBefore, new DateOnly(1994, 2, 9)), SearchKey.DateKey(K.SentSince, new DateOnly(1994, 2, 9)))));
        Assert.Equal(0, folder.Calls["OpenContentAsync"]);
    }

    [Fact]
    public async Task Larger_and_smaller_are_strict_comparisons_of_the_size()
    {
        var folder = await SearchFolder.StandardAsync();
        var size = (ulong)folder.Messages[0].Size;
        Assert.DoesNotContain(1u, await folder.Find(SearchKey.Size(K.Larger, size)));
        Assert.Contains(1u, await folder.Find(SearchKey.Size(K.Larger, size - 1)));
        Assert.DoesNotContain(1u, await folder.Find(SearchKey.Size(K.Smaller, size)));
        Assert.Contains(1u, await folder.Find(SearchKey.Size(K.Smaller, size + 1)));
        Assert.Equal(new uint[] { 5u }, await folder.Find(SearchKey.Size(K.Larger, 4000)));
        Assert.Equal(0, folder.Calls.Total);
    }

    [Fact]
    public async Task Sequence_sets_resolve_star_to_the_last_message_and_ranges_in_either_order()
    {
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(new uint[] { 2u, 3, 5 }, await folder.Find(Set(false, "2:3,5")));
        Assert.Equal(new uint[] { 4u, 5 }, await folder.Find(Set(false, "*:4")));
        Assert.Equal(new uint[] { 5u }, await folder.Find(Set(false, "*")));
        Assert.Empty(await folder.Find(Set(false, "6:9")));
        Assert.Equal(0, folder.Calls.Total);
    }

    [Fact]
    public async Task Uid_sets_match_uids_and_star_is_the_largest_uid_even_past_it()
    {
        var folder = await SearchFolder.StandardAsync();
        var uids = folder.Messages.Select(m => m.Uid).ToArray();
        Assert.Equal(new uint[] { 2u }, await folder.Find(Set(true, $"{uids[1]}")));
        // RFC 9051 §6.4.8: n:* with n past the largest UID still includes the last message.
        Assert.Equal(new uint[] { 5u }, await folder.Find(Set(true, $"{uids[4] + 100}:*")));
        Assert.Empty(await folder.Find(Set(true, $"{uids[4] + 100}:{uids[4] + 200}")));
    }

    [Fact]
    public async Task Star_in_an_empty_folder_matches_nothing()
    {
        var folder = await SearchFolder.CreateAsync();
        Assert.Empty(await folder.Find(Set(false, "*")));
        Assert.Empty(await folder.Find(Set(true, "1:*")));
        Assert.Empty(await folder.Find(SearchKey.All));
    }

    [Fact]
    public async Task Saved_result_matches_the_saved_uids_and_nothing_when_none_were_saved()
    {
        var folder = await SearchFolder.StandardAsync();
        var uids = folder.Messages.Select(m => m.Uid).ToArray();
        var saved = NumberSet.FromNumbers([uids[1], uids[3], uids[4] + 10]);
        Assert.Equal(new uint[] { 2u, 4 }, await folder.Find(Set(false, "$"), saved));
        Assert.Equal(new uint[] { 2u, 4 }, await folder.Find(Set(true, "$"), saved));
        // "$" may be one item of a list (the union).
        Assert.Equal(new uint[] { 1u, 2, 4 }, await folder.Find(Set(false, "1,$"), saved));
        Assert.Equal(new uint[] { 2u, 4, 5 }, await folder.Find(Set(true, $"$,{uids[4]}"), saved));
        Assert.Empty(await folder.Find(Set(false, "$")));
        Assert.Empty(await folder.Find(Set(true, "$"), NumberSet.Empty));
        Assert.True(SearchKey.And([Set(true, "$"), S(K.Seen)]).UsesSavedResult);
        Assert.False(Set(true, "1:*").UsesSavedResult);
    }

    [Fact]
    public async Task Modseq_matches_messages_changed_at_or_after_the_value_and_the_result_reports_the_highest()
    {
        var folder = await SearchFolder.StandardAsync();
        var modSeqs = folder.Messages.Select(m => m.ModSeq).ToArray();
        var key = SearchKey.ModSeq(modSeqs[3], "/flags/\\draft", ModSeqEntryType.All);
        var result = await SearchEvaluator.EvaluateAsync(key, folder.Scope());
        Assert.Equal(new uint[] { 4u, 5 }, result.SequenceNumbers.ToArray());
        Assert.Equal(modSeqs.Max(), result.HighestModSeq);
        Assert.Equal(modSeqs[3], result.FirstModSeq);
        Assert.True(key.UsesModSeq);
        Assert.True(SearchKey.Not(key).UsesModSeq);
        Assert.False(S(K.Seen).UsesModSeq);
    }

    [Theory]
    [InlineData("From", "alice", new uint[] { 1 })]
    [InlineData("From", "ALICE EXAMPLE", new uint[] { 1 })]
    [InlineData("From", "example.org", new uint[] { 1, 2, 3, 4, 5 })]
    [InlineData("From", "José Müller", new uint[] { 2 })] // encoded word (UTF-8, base64) decoded
    [InlineData("From", "=?UTF-8?", new uint[0])] // ... and not matched as written
    [InlineData("To", "andré", new uint[] { 2 })] // ISO-8859-1 Q encoding
    [InlineData("To", "bob@example.net", new uint[] { 1, 3, 4 })]
    [InlineData("Cc", "carol", new uint[] { 1 })]
    [InlineData("Bcc", "secret", new uint[] { 5 })]
    [InlineData("Subject", "café crème FOR everyone", new uint[] { 2 })] // adjacent encoded words, whitespace between them
    [InlineData("Subject", "привет", new uint[] { 4 })] // KOI8-R
    [InlineData("Subject", "plan", new uint[] { 5 })]
    [InlineData("Subject", "", new uint[] { 1, 2, 3, 4, 5 })]
    public async Task Envelope_keys_match_decoded_values_case_insensitively_without_opening_content(string name, string value, uint[] expected)
    {
        var kind = Enum.Parse<K>(name);
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(expected, await folder.Find(Str(kind, value)));
        Assert.Equal(0, folder.Calls["OpenContentAsync"]);
    }

    [Theory]
    [InlineData("X-Mailer", "plain writer", new uint[] { 1 })]
    [InlineData("x-priority", "highest", new uint[] { 5 })]
    [InlineData("X-Priority", "", new uint[] { 5 })] // an empty string: every message having the field
    [InlineData("Subject", "CAFÉ", new uint[] { 2 })] // decoded
    [InlineData("Content-Type", "MULTIPART/mixed", new uint[] { 3 })]
    [InlineData("Content-Transfer-Encoding", "base64", new uint[0])] // only the top-level header counts
    [InlineData("X-Missing", "", new uint[0])]
    public async Task Header_matches_the_decoded_value_of_the_named_field(string field, string value, uint[] expected)
    {
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(expected, await folder.Find(SearchKey.Header(field, value)));
    }

    [Theory]
    [InlineData("noon in the LIBRARY", new uint[] { 1 })]
    [InlineData("Grüße aus München", new uint[] { 2 })] // quoted-printable, UTF-8
    [InlineData("softbreak joins", new uint[] { 2 })] // a soft line break is no break
    [InlineData("hidden treasure", new uint[] { 3 })] // base64 text part
    [InlineData("<b>these</b>", new uint[] { 3 })] // text/html is text, searched as written
    [InlineData("attachmentonly", new uint[0])] // an application/* part is not text
    [InlineData("decoy", new uint[0])] // nor is a multipart's preamble
    [InlineData("français, NAÏVE", new uint[] { 4 })] // ISO-8859-1 decoded
    [InlineData("end of the draft", new uint[] { 5 })]
    [InlineData("Meeting", new uint[0])] // the header is not the body
    public async Task Body_searches_the_decoded_text_parts(string value, uint[] expected)
    {
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(expected, await folder.Find(Str(K.Body, value)));
    }

    [Theory]
    [InlineData("Meeting tomorrow", new uint[] { 1 })] // header
    [InlineData("noon", new uint[] { 1 })] // body
    [InlineData("x-priority: 1", new uint[] { 5 })] // field name and value
    [InlineData("Café", new uint[] { 2 })] // decoded header
    [InlineData("München", new uint[] { 2 })] // decoded body
    [InlineData("attachmentonly", new uint[0])]
    public async Task Text_searches_the_decoded_header_and_the_text_parts(string value, uint[] expected)
    {
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(expected, await folder.Find(Str(K.Text, value)));
    }

    // RFC 9051 §6.4.4 TEXT: "in the header (including MIME header fields) or body of the message". The MIME headers
    // of the parts and the header of an embedded message/rfc822 are TEXT; BODY has neither (as Dovecot answers both).
    [Fact]
    public async Task Text_searches_the_mime_headers_of_parts_and_embedded_message_headers_and_body_does_not()
    {
        var folder = await SearchFolder.CreateAsync(new SearchFolder.TestMessage(
            "Subject: outer\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
            "--b\r\nContent-Type: text/plain\r\nContent-Description: =?utf-8?q?the_r=C3=A9port?=\r\n\r\nplain words\r\n" +
            "--b\r\nContent-Type: message/rfc822\r\n\r\n" +
            "Subject: inner subject\r\nCc: log-keeper@example.org\r\n\r\ninner words\r\n" +
            "--b--\r\n", MessageFlags.None, [], DateTimeOffset.UnixEpoch),
            new SearchFolder.TestMessage("Subject: other\r\n\r\nnothing here\r\n", MessageFlags.None, [], DateTimeOffset.UnixEpoch));
        Assert.Equal(new uint[] { 1 }, await folder.Find(Str(K.Text, "the RÉPORT"))); // a part's MIME header, decoded
        Assert.Equal(new uint[] { 1 }, await folder.Find(Str(K.Text, "log-keeper"))); // the embedded message's header
        Assert.Equal(new uint[] { 1 }, await folder.Find(Str(K.Text, "inner subject")));
        Assert.Equal(new uint[] { 1 }, await folder.Find(Str(K.Text, "inner words")));
        Assert.Empty(await folder.Find(Str(K.Body, "the RÉPORT")));
        Assert.Empty(await folder.Find(Str(K.Body, "log-keeper")));
        Assert.Equal(new uint[] { 1 }, await folder.Find(Str(K.Body, "inner words")));
        // BODY and TEXT of one string in one search keep their own meaning.
        Assert.Equal(new uint[] { 1 }, await folder.Find(SearchKey.Or(Str(K.Body, "log-keeper"), Str(K.Text, "log-keeper"))));
        Assert.Empty(await folder.Find(SearchKey.And([Str(K.Body, "log-keeper"), Str(K.Text, "log-keeper")])));
    }

    [Fact]
    public async Task Bodies_in_code_page_charsets_are_decoded()
    {
        // "Привет, мир" in KOI8-R, written as octets: the test registers no code pages, the search must.
        byte[] koi8 = [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4, 0x2C, 0x20, 0xCD, 0xC9, 0xD2, 0x0D, 0x0A];
        var folder = await SearchFolder.CreateAsync(
            new SearchFolder.TestMessage(
                SearchFolder.Bytes("Subject: a\r\nContent-Type: text/plain; charset=\"koi8-r\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
                    .Concat(koi8).ToArray(), MessageFlags.None, [], DateTimeOffset.UnixEpoch),
            new SearchFolder.TestMessage(
                SearchFolder.Bytes("Subject: b\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
                    .Concat(SearchFolder.Bytes("=93quoted=94 =80 price\r\n")).ToArray(), MessageFlags.None, [], DateTimeOffset.UnixEpoch));
        Assert.Equal(new uint[] { 1 }, await folder.Find(Str(K.Body, "МИР")));
        Assert.Equal(new uint[] { 2 }, await folder.Find(Str(K.Body, "\u201cquoted\u201d \u20ac price")));
    }

    [Fact]
    public async Task A_needle_straddling_two_read_chunks_is_found()
    {
        // 16 KiB chunks: put the word across the first boundary, in a base64 part so the decoded offsets shift too.
        var text = new string('a', 16 * 1024 - 3) + "needle" + new string('b', 100);
        var folder = await SearchFolder.CreateAsync(new SearchFolder.TestMessage(
            "Subject: long\r\nContent-Type: text/plain\r\n\r\n" + text + "\r\n", MessageFlags.None, [], DateTimeOffset.UnixEpoch),
            new SearchFolder.TestMessage(
            "Subject: long\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(text), Base64FormattingOptions.InsertLineBreaks) + "\r\n",
            MessageFlags.None, [], DateTimeOffset.UnixEpoch));
        Assert.Equal(new uint[] { 1u, 2 }, await folder.Find(Str(K.Body, "NEEDLE")));
        Assert.Empty(await folder.Find(Str(K.Body, "needlex")));
    }

    [Fact]
    public async Task Not_or_and_lists_combine_keys()
    {
        var folder = await SearchFolder.StandardAsync();
        Assert.Equal(new uint[] { 1u, 3, 4, 5 }, await folder.Find(SearchKey.Not(S(K.Flagged))));
        Assert.Equal(new uint[] { 1u, 2, 4 }, await folder.Find(SearchKey.Or(S(K.Seen), S(K.Flagged))));
        Assert.Equal(new uint[] { 4u }, await folder.Find(SearchKey.And([S(K.Seen), S(K.Deleted)])));
        Assert.Equal(new uint[] { 3u }, await folder.Find(SearchKey.And([SearchKey.Not(S(K.Seen)), SearchKey.Or(Str(K.Body, "treasure"), S(K.Draft)), Str(K.To, "bob")])));
        Assert.Equal(new uint[] { 1u, 2, 3, 4 }, await folder.Find(SearchKey.Not(SearchKey.Header("X-Priority", ""))));
    }

    [Fact]
    public async Task Flag_only_searches_never_fetch_summaries_or_content()
    {
        var folder = await SearchFolder.StandardAsync();
        var uids = folder.Messages.Select(m => m.Uid).ToArray();
        var key = SearchKey.And([
            SearchKey.Or(S(K.Seen), SearchKey.Not(S(K.Flagged))),
            SearchKey.Keyword(K.Unkeyword, "x"),
            SearchKey.DateKey(K.Since, new DateOnly(1990, 1, 1)),
            SearchKey.Size(K.Smaller, 100_000),
            Set(true, "1:*"),
            Set(false, "1:*"),
            SearchKey.ModSeq(1),
            SearchKey.Not(Set(false, "$")),
            S(K.Old),
        ]);
        Assert.Equal(SearchNeeds.None, key.Needs);
        Assert.Equal(new uint[] { 1u, 3, 4, 5 }, await folder.Find(key, NumberSet.FromNumbers([uids[1]])));
        Assert.Equal(0, folder.Calls.Total);
    }

    [Fact]
    public async Task Content_is_opened_only_for_messages_the_cheaper_keys_leave_undecided()
    {
        var folder = await SearchFolder.StandardAsync();
        // Only message 2 is flagged: only its content is read.
        Assert.Equal(new uint[] { 2u }, await folder.Find(SearchKey.And([S(K.Flagged), Str(K.Body, "München")])));
        Assert.Equal(1, folder.Calls["OpenContentAsync"]);
        Assert.Equal(1, folder.Calls["GetSummariesAsync"]);

        // An OR whose cheap side is already true needs no content either.
        var before = folder.Calls["OpenContentAsync"];
        Assert.Equal(new uint[] { 1u, 4 }, await folder.Find(SearchKey.And([S(K.Seen), SearchKey.Or(S(K.Seen), Str(K.Body, "zzz"))])));
        Assert.Equal(before, folder.Calls["OpenContentAsync"]);

        // Envelope keys stop at the summaries.
        var open = folder.Calls["OpenContentAsync"];
        Assert.Equal(new uint[] { 5u }, await folder.Find(SearchKey.And([Str(K.Subject, "plan"), Str(K.Bcc, "secret")])));
        Assert.Equal(open, folder.Calls["OpenContentAsync"]);
    }

    [Fact]
    public async Task Summaries_are_fetched_in_batches()
    {
        var messages = Enumerable.Range(0, SearchEvaluator.BatchSize + 10)
            .Select(i => new SearchFolder.TestMessage($"Subject: number {i}\r\n\r\nbody\r\n", MessageFlags.None, [], DateTimeOffset.UnixEpoch))
            .ToArray();
        var folder = await SearchFolder.CreateAsync(messages);
        var found = await folder.Find(Str(K.Subject, "number 260"));
        Assert.Equal(new uint[] { 261u }, found);
        Assert.Equal(2, folder.Calls["GetSummariesAsync"]);
        Assert.Equal(0, folder.Calls["OpenContentAsync"]);
    }

    [Fact]
    public async Task A_message_expunged_by_another_session_meanwhile_is_not_found()
    {
        var folder = await SearchFolder.StandardAsync();
        var scope = folder.Scope();
        await folder.Store.ExpungeAsync(SearchFolder.User, SearchFolder.Folder, [folder.Messages[1].Uid]);
        var result = await SearchEvaluator.EvaluateAsync(Str(K.From, "example.org"), scope);
        Assert.Equal(new uint[] { 1u, 3, 4, 5 }, result.SequenceNumbers.ToArray());
        Assert.Equal(folder.Messages.Where((_, i) => i != 1).Select(m => m.Uid), result.Uids.ToArray());
    }

    [Fact]
    public void Trees_deeper_than_the_limit_cannot_be_built()
    {
        var key = S(K.Seen);
        for (var i = 0; i < SearchKey.MaxDepth; i++)
        {
            key = SearchKey.Not(key);
        }
        Assert.Equal(SearchKey.MaxDepth, key.Depth);
        Assert.Throws<ArgumentException>(() => SearchKey.Not(key));
    }

    [Fact]
    public async Task A_tree_at_the_depth_limit_evaluates()
    {
        var folder = await SearchFolder.StandardAsync();
        var key = S(K.Seen);
        for (var i = 0; i < SearchKey.MaxDepth; i++)
        {
            key = SearchKey.Or(key, Str(K.Body, "never there"));
        }
        Assert.Equal(new uint[] { 1u, 4 }, await folder.Find(key));
    }

    [Fact]
    public void The_tree_says_what_it_needs()
    {
        Assert.Equal(SearchNeeds.None, SearchKey.And([S(K.Seen), SearchKey.Size(K.Larger, 1)]).Needs);
        Assert.Equal(SearchNeeds.Envelope, SearchKey.Not(Str(K.From, "a")).Needs);
        Assert.Equal(SearchNeeds.Envelope, SearchKey.DateKey(K.SentOn, default).Needs);
        Assert.Equal(SearchNeeds.Header, SearchKey.Header("X-A", "b").Needs);
        Assert.Equal(SearchNeeds.Body, Str(K.Body, "a").Needs);
        Assert.Equal(SearchNeeds.Header | SearchNeeds.Body, Str(K.Text, "a").Needs);
        Assert.Equal(SearchNeeds.Envelope | SearchNeeds.Body, SearchKey.Or(Str(K.Cc, "a"), Str(K.Body, "b")).Needs);
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("Subject: only a header, no blank line, no body")]
    [InlineData("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nnever closed")]
    [InlineData("Content-Type: text/plain; charset=\"no-such-charset\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n")]
    [InlineData("Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=4\r\n=ZZ\r\n")]
    [InlineData("Subject: =?utf-8?B?broken?= =?x-unknown?Q?a?=\r\nFrom: <<<@>>>\r\nDate: yesterday\r\n\r\n")]
    public async Task Malformed_messages_are_searched_without_error(string content)
    {
        var folder = await SearchFolder.CreateAsync(new SearchFolder.TestMessage(content, MessageFlags.None, [], DateTimeOffset.UnixEpoch));
        var key = SearchKey.Or(SearchKey.Or(Str(K.Text, "zzz"), SearchKey.Header("Subject", "q")),
            SearchKey.Or(Str(K.From, "y"), SearchKey.DateKey(K.SentOn, new DateOnly(2000, 1, 1))));
        Assert.Empty(await folder.Find(key));
        Assert.Equal(new uint[] { 1 }, await folder.Find(SearchKey.Not(key)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("no colon here at all\r\n\r\nbody text\r\n")]
    public async Task A_content_without_a_readable_header_has_no_fields(string content)
    {
        using var stream = new MemoryStream(SearchFolder.Bytes(content));
        Assert.Empty(await SearchText.ReadHeaderAsync(stream, 0, 0, CancellationToken.None));
    }

    [Fact]
    public async Task Text_parts_of_an_embedded_message_and_uuencoded_parts_are_searched()
    {
        var folder = await SearchFolder.CreateAsync(
            new SearchFolder.TestMessage(
                "Subject: forwarded\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
                "--outer\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n" +
                "--outer\r\nContent-Type: message/rfc822\r\n\r\n" +
                "Subject: inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("the inner secret")) + "\r\n" +
                "--outer--\r\n", MessageFlags.None, [], DateTimeOffset.UnixEpoch),
            new SearchFolder.TestMessage(
                "Subject: uu\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n" +
                "begin 644 a.txt\r\n" + UuLine("uuencoded words") + "`\r\nend\r\n", MessageFlags.None, [], DateTimeOffset.UnixEpoch));
        Assert.Equal(new uint[] { 1 }, await folder.Find(Str(K.Body, "inner SECRET")));
        Assert.Equal(new uint[] { 1 }, await folder.Find(Str(K.Body, "see below")));
        Assert.Equal(new uint[] { 2 }, await folder.Find(Str(K.Body, "uuencoded words")));
    }

    /// <summary>One uuencoded line (at most 45 octets).</summary>
    private static string UuLine(string text)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(text);
        var line = new System.Text.StringBuilder().Append((char)(32 + bytes.Length));
        for (var i = 0; i < bytes.Length; i += 3)
        {
            int b0 = bytes[i], b1 = i + 1 < bytes.Length ? bytes[i + 1] : 0, b2 = i + 2 < bytes.Length ? bytes[i + 2] : 0;
            foreach (var v in new[] { b0 >> 2, ((b0 & 3) << 4) | (b1 >> 4), ((b1 & 15) << 2) | (b2 >> 6), b2 & 63 })
            {
                line.Append(v == 0 ? '`' : (char)(32 + v));
            }
        }
        return line.Append("\r\n").ToString();
    }

    [Theory]
    [InlineData("TEXT", "innersubject", true)] // the embedded message's header
    [InlineData("TEXT", "inner@example.net", true)]
    [InlineData("TEXT", "partdesc", true)] // a part's MIME header
    [InlineData("TEXT", "Content-Type: message/rfc822", true)]
    [InlineData("TEXT", "inner secret", true)]
    [InlineData("BODY", "innersubject", false)] // BODY is the text parts only
    [InlineData("BODY", "partdesc", false)]
    [InlineData("BODY", "inner secret", true)]
    [InlineData("FROM", "inner", false)] // envelope keys are the top-level message's
    public async Task Text_includes_the_mime_headers_of_parts_and_embedded_messages(string name, string value, bool found)
    {
        // RFC 9051 §6.4.4 TEXT: "in the header (including MIME header fields) or body of the message" (as Dovecot does).
        var folder = await SearchFolder.CreateAsync(new SearchFolder.TestMessage(
            "From: a@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
            "--outer\r\nContent-Type: text/plain\r\nContent-Description: partdesc\r\n\r\nSee below.\r\n" +
            "--outer\r\nContent-Type: message/rfc822\r\n\r\n" +
            "Subject: innersubject\r\nFrom: inner@example.net\r\nContent-Type: text/plain\r\n\r\nthe inner secret\r\n" +
            "--outer--\r\n", MessageFlags.None, [], DateTimeOffset.UnixEpoch));
        Assert.Equal(found ? new uint[] { 1 } : [], await folder.Find(Str(Enum.Parse<K>(name, ignoreCase: true), value)));
        // The same string as BODY and TEXT in one program (one scan): each keeps its own meaning.
        var inTextParts = "See below. the inner secret".Contains(value, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(inTextParts ? [] : new uint[] { 1 },
            await folder.Find(SearchKey.And([Str(K.Text, value), SearchKey.Not(Str(K.Body, value))])));
    }

    [Fact]
    public async Task A_session_that_keeps_only_uids_gets_the_flags_with_one_listing_and_loses_no_sequence_number()
    {
        var folder = await SearchFolder.StandardAsync();
        var uids = folder.Messages.Select(m => m.Uid).ToArray();
        await folder.Store.ExpungeAsync(SearchFolder.User, SearchFolder.Folder, [uids[0]]);
        var before = folder.Calls.Total;
        var scope = new SearchScope(folder.Store, SearchFolder.User, SearchFolder.Folder, uids);

        // Message 1 is gone from the store but still number 1 in the session's view: it is never found, the others keep their numbers.
        var result = await SearchEvaluator.EvaluateAsync(SearchKey.Simple(K.Seen), scope);
        Assert.Equal(new uint[] { 4 }, result.SequenceNumbers.ToArray());
        Assert.Equal(new uint[] { uids[3] }, result.Uids.ToArray());
        Assert.Equal(1, folder.Calls.Total - before);
        Assert.Equal(1, folder.Calls["ListMessagesAsync"]);

        result = await SearchEvaluator.EvaluateAsync(SearchKey.Not(SearchKey.Simple(K.Seen)), scope);
        Assert.Equal(new uint[] { 2, 3, 5 }, result.SequenceNumbers.ToArray());
        result = await SearchEvaluator.EvaluateAsync(Str(K.Body, "e"), scope);
        Assert.Equal(new uint[] { 2, 3, 4, 5 }, result.SequenceNumbers.ToArray());
        Assert.Equal(new uint[] { 5 }, (await SearchEvaluator.EvaluateAsync(Set(false, "*"), scope)).SequenceNumbers.ToArray());
    }
    [Fact]
    public async Task A_store_listing_as_long_as_the_sessions_view_but_with_other_uids_is_matched_by_uid()
    {
        // Another session expunged message 1 and appended one: the store has as many messages as the session knows, but not
        // the same ones. Its list may be used as it is only when it holds exactly the session's UIDs.
        var folder = await SearchFolder.StandardAsync();
        var uids = folder.Messages.Select(m => m.Uid).ToArray();
        await folder.Store.ExpungeAsync(SearchFolder.User, SearchFolder.Folder, [uids[0]]);
        using (var content = new MemoryStream("Subject: late\r\n\r\nlate\r\n"u8.ToArray()))
        {
            await folder.Store.AppendAsync(SearchFolder.User, SearchFolder.Folder, content, new AppendOptions(MessageFlags.Seen));
        }
        Assert.Equal(uids.Length, (await folder.Store.ListMessagesAsync(SearchFolder.User, SearchFolder.Folder)).Count);
        var scope = new SearchScope(folder.Store, SearchFolder.User, SearchFolder.Folder, uids);

        var result = await SearchEvaluator.EvaluateAsync(SearchKey.Simple(K.Seen), scope);
        Assert.Equal(new uint[] { 4 }, result.SequenceNumbers.ToArray());
        Assert.Equal(new uint[] { uids[3] }, result.Uids.ToArray());
        result = await SearchEvaluator.EvaluateAsync(SearchKey.All, scope);
        Assert.Equal(new uint[] { 2, 3, 4, 5 }, result.SequenceNumbers.ToArray());
    }

    [Fact]
    public async Task A_store_listing_of_exactly_the_sessions_uids_answers_with_the_stores_current_flags()
    {
        var folder = await SearchFolder.StandardAsync();
        var uids = folder.Messages.Select(m => m.Uid).ToArray();
        var scope = new SearchScope(folder.Store, SearchFolder.User, SearchFolder.Folder, uids);
        await folder.Store.UpdateFlagsAsync(SearchFolder.User, SearchFolder.Folder, [uids[0]], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen));

        var result = await SearchEvaluator.EvaluateAsync(SearchKey.Simple(K.Seen), scope);
        Assert.Equal(new uint[] { 1, 4 }, result.SequenceNumbers.ToArray());
        Assert.Equal(new uint[] { uids[0], uids[3] }, result.Uids.ToArray());
    }
    [Fact]
    public async Task Over_a_maildir_store_the_folders_list_is_matched_with_the_sessions_uids_after_changes_by_other_sessions()
    {
        // The Maildir store hands out one immutable list per folder state; the evaluator uses it as it is when it holds the
        // session's UIDs, and matches by UID when not.
        var root = Path.Combine(Path.GetTempPath(), "mp-search-maildir-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var store = new Maildir.MaildirMailboxStore(root);
            const string user = "searcher";
            var uids = new uint[4];
            for (var i = 0; i < uids.Length; i++)
            {
                using var content = new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\nbody\r\n"));
                uids[i] = (await store.AppendAsync(user, "INBOX", content, new AppendOptions(i % 2 == 1 ? MessageFlags.Flagged : MessageFlags.None))).Uid;
            }
            var scope = new SearchScope(store, user, "INBOX", uids);
            Assert.Equal(new uint[] { 2, 4 }, (await SearchEvaluator.EvaluateAsync(SearchKey.Simple(K.Flagged), scope)).SequenceNumbers.ToArray());

            await store.UpdateFlagsAsync(user, "INBOX", [uids[0]], new FlagChange(FlagChangeMode.Add, MessageFlags.Flagged));
            Assert.Equal(new uint[] { 1, 2, 4 }, (await SearchEvaluator.EvaluateAsync(SearchKey.Simple(K.Flagged), scope)).SequenceNumbers.ToArray());

            // As many messages as the session knows, but not the same ones.
            await store.ExpungeAsync(user, "INBOX", [uids[1]]);
            using (var late = new MemoryStream("Subject: late\r\n\r\nlate\r\n"u8.ToArray()))
            {
                await store.AppendAsync(user, "INBOX", late, new AppendOptions(MessageFlags.Flagged));
            }
            var result = await SearchEvaluator.EvaluateAsync(SearchKey.Simple(K.Flagged), scope);
            Assert.Equal(new uint[] { 1, 4 }, result.SequenceNumbers.ToArray());
            Assert.Equal(new uint[] { uids[0], uids[3] }, result.Uids.ToArray());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
