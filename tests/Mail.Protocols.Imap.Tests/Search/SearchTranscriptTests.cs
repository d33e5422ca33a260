using System.Text;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;
using static Mail.Protocols.Imap.Tests.Search.SearchFolder;

namespace Mail.Protocols.Imap.Tests.Search;

/// <summary>
/// The examples of RFC 3501 §6.4.4, RFC 9051 §6.4.4, RFC 4731, RFC 5182 and RFC 7162 §3.1.5 as exact octets: the command as
/// the client sends it (literals inline), and the untagged responses the server writes before its tagged OK, over folders
/// built so that the RFC's answer is the right one.
/// </summary>
public sealed class SearchTranscriptTests
{
    /// <summary>
    /// The folder behind "FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"" of RFC 3501: of 882 messages, 2, 84 and 882 are flagged,
    /// arrived since February and are not from Smith; 5 is from Smith; 100 arrived in January.
    /// </summary>
    private static Task<SearchFolder> FlaggedFolderAsync(int count, params int[] wanted)
    {
        var messages = new List<TestMessage>();
        for (var i = 1; i <= count; i++)
        {
            var flagged = wanted.Contains(i) || i is 5 or 100;
            var from = i == 5 ? "John Smith <smith@example.org>" : $"user{i}@example.org";
            var arrived = i == 100 ? new DateTimeOffset(1994, 1, 31, 23, 0, 0, TimeSpan.Zero) : new DateTimeOffset(1994, 2, 1, 8, 0, 0, TimeSpan.Zero);
            var body = i == 43 ? "Gr\u00fc\u00dfe" : "hello";
            messages.Add(new TestMessage($"From: {from}\r\nSubject: {i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
                flagged ? MessageFlags.Flagged : MessageFlags.None, [], arrived));
        }
        return CreateAsync([.. messages]);
    }

    [Fact]
    public async Task Rfc3501_search_flagged_since_not_from()
    {
        var folder = await FlaggedFolderAsync(882, 2, 84, 882);
        var runner = new SearchRunner(folder);
        Assert.Equal("* SEARCH 2 84 882\r\n", await runner.RunAsync("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""));
        // Only the four flagged messages since February needed their From: one batch of summaries, and no content.
        Assert.Equal(1, folder.Calls["GetSummariesAsync"]);
        Assert.Equal(0, folder.Calls["OpenContentAsync"]);
        Assert.Equal("* SEARCH\r\n", await runner.RunAsync("A283 SEARCH TEXT \"string not in mailbox\""));
        Assert.Equal(882, folder.Calls["OpenContentAsync"]);
    }

    [Fact]
    public async Task Rfc3501_search_with_a_utf8_literal()
    {
        var folder = await FlaggedFolderAsync(50);
        var literal = Encoding.UTF8.GetBytes("Gr\u00fc\u00dfe");
        var command = Encoding.ASCII.GetBytes($"A284 SEARCH CHARSET UTF-8 TEXT {{{literal.Length}}}\r\n").Concat(literal).ToArray();
        Assert.Equal("* SEARCH 43\r\n", await new SearchRunner(folder).RunAsync(command));
    }

    [Fact]
    public async Task Rfc9051_esearch_examples()
    {
        var folder = await FlaggedFolderAsync(12, 2, 10, 11);
        var runner = new SearchRunner(folder);
        Assert.Equal("* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n",
            await runner.RunAsync("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""));
        Assert.Equal("* ESEARCH (TAG \"A283\") ALL 2,10:11\r\n",
            await runner.RunAsync("A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""));
        // IMAP4rev2 answers ESEARCH without RETURN too, and nothing but the tag when nothing is found.
        var rev2 = new SearchRunner(folder) { Rev2 = true };
        Assert.Equal("* ESEARCH (TAG \"A284\")\r\n", await rev2.RunAsync("A284 SEARCH TEXT \"string not in mailbox\""));
        Assert.Equal("* ESEARCH (TAG \"A285\") ALL 2,10:11\r\n", await rev2.RunAsync("A285 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""));
    }

    [Fact]
    public async Task Rfc4731_uid_min_max_and_count()
    {
        var folder = FromInfos(Info(7), Info(8), Info(100), Info(3800));
        var runner = new SearchRunner(folder);
        Assert.Equal("* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n", await runner.RunAsync("A285 UID SEARCH RETURN (MIN MAX) 1:5000"));
        Assert.Equal("* ESEARCH (TAG \"A286\") COUNT 4\r\n", await runner.RunAsync("A286 SEARCH RETURN (COUNT) 1:5000"));
        Assert.Equal("* ESEARCH (TAG \"A287\") UID COUNT 0\r\n", await runner.RunAsync("A287 UID SEARCH RETURN (COUNT MIN MAX ALL) DELETED"));
        Assert.Equal("* ESEARCH (TAG \"A288\") UID MIN 7 MAX 3800 COUNT 4 ALL 7:8,100,3800\r\n", await runner.RunAsync("A288 UID SEARCH RETURN (ALL COUNT MAX MIN) ALL"));
        Assert.Equal(0, folder.Calls.Total);
    }

    [Fact]
    public async Task Rfc5182_save_then_refer_to_the_result_with_dollar()
    {
        var folder = FromInfos(Info(3), Info(4, MessageFlags.Flagged), Info(9, MessageFlags.Flagged), Info(12), Info(15, MessageFlags.Flagged));
        var runner = new SearchRunner(folder);
        // SAVE alone answers nothing but the tagged OK.
        Assert.Equal("", await runner.RunAsync("A282 SEARCH RETURN (SAVE) FLAGGED"));
        Assert.Equal("4,9,15", runner.Saved!.ToString());
        Assert.Equal("* SEARCH 2 3 5\r\n", await runner.RunAsync("A283 SEARCH $"));
        Assert.Equal("* SEARCH 4 9 15\r\n", await runner.RunAsync("A284 UID SEARCH UID $"));
        Assert.Equal("* SEARCH 1 2 3 5\r\n", await runner.RunAsync("A285 SEARCH OR $ 1"));
        // SAVE with MIN keeps only the message MIN reports (RFC 5182 §2.1); with COUNT, all of them.
        Assert.Equal("* ESEARCH (TAG \"A286\") MIN 2\r\n", await runner.RunAsync("A286 SEARCH RETURN (SAVE MIN) FLAGGED"));
        Assert.Equal("4", runner.Saved!.ToString());
        Assert.Equal("* ESEARCH (TAG \"A287\") UID MIN 4 MAX 15\r\n", await runner.RunAsync("A287 UID SEARCH RETURN (MIN MAX SAVE) FLAGGED"));
        Assert.Equal("4,15", runner.Saved!.ToString());
        Assert.Equal("* ESEARCH (TAG \"A288\") MIN 2 COUNT 3\r\n", await runner.RunAsync("A288 SEARCH RETURN (SAVE COUNT MIN) FLAGGED"));
        Assert.Equal("4,9,15", runner.Saved!.ToString());
        Assert.Equal("", await runner.RunAsync("A289 SEARCH RETURN (SAVE) DELETED"));
        Assert.True(runner.Saved!.IsEmpty);
        Assert.Equal("* SEARCH\r\n", await runner.RunAsync("A290 SEARCH $"));
    }

    [Fact]
    public async Task Rfc7162_search_modseq_appends_the_highest_modseq()
    {
        var folder = FromInfos(
            Info(1, modSeq: 600000000), Info(2, modSeq: 917162488), Info(3, modSeq: 5), Info(4, modSeq: 620162338),
            Info(5, modSeq: 917162500), Info(6, modSeq: 620162337));
        var runner = new SearchRunner(folder);
        Assert.Equal("* SEARCH 2 4 5 (MODSEQ 917162500)\r\n", await runner.RunAsync("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338"));
        Assert.Equal("* SEARCH 2 4 5 (MODSEQ 917162500)\r\n", await runner.RunAsync("a SEARCH MODSEQ 620162338"));
        // No match: no MODSEQ either.
        Assert.Equal("* SEARCH\r\n", await runner.RunAsync("b SEARCH MODSEQ 999999999"));
        // Without a MODSEQ key, no MODSEQ.
        Assert.Equal("* SEARCH 1 2 3 4 5 6\r\n", await runner.RunAsync("c SEARCH ALL"));
        // ESEARCH: the highest of all found for ALL and COUNT, of the MIN/MAX messages otherwise (RFC 4731 §3.2).
        Assert.Equal("* ESEARCH (TAG \"d\") UID ALL 2,4:5 MODSEQ 917162500\r\n", await runner.RunAsync("d UID SEARCH RETURN (ALL) MODSEQ 620162338"));
        Assert.Equal("* ESEARCH (TAG \"e\") MIN 2 MODSEQ 917162488\r\n", await runner.RunAsync("e SEARCH RETURN (MIN) MODSEQ 620162338"));
        Assert.Equal("* ESEARCH (TAG \"f\") MAX 5 MODSEQ 917162500\r\n", await runner.RunAsync("f SEARCH RETURN (MAX) NOT NOT MODSEQ 620162338"));
        Assert.Equal("* ESEARCH (TAG \"g\") COUNT 0\r\n", await runner.RunAsync("g SEARCH RETURN (COUNT) MODSEQ 999999999"));
    }

    [Fact]
    public async Task Badcharset_answers_no_with_the_supported_charsets()
    {
        var runner = new SearchRunner(FromInfos(Info(1)));
        Assert.Equal("A1 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n", await runner.RunAsync("A1 SEARCH CHARSET ISO-8859-1 FROM x"));
        Assert.Equal("A2 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n", await runner.RunAsync("A2 SEARCH RETURN (COUNT) CHARSET \"KOI8-R\" TEXT y"));
        Assert.Equal("* SEARCH 1\r\n", await runner.RunAsync("A3 SEARCH CHARSET us-ascii ALL"));
        Assert.Equal("* SEARCH 1\r\n", await runner.RunAsync("A4 SEARCH CHARSET \"utf-8\" ALL"));
    }

    [Fact]
    public async Task Sequence_sets_compact_in_esearch_all()
    {
        var infos = Enumerable.Range(1, 20).Select(i => Info((uint)i * 2, i is 1 or 2 or 3 or 7 or 9 or 10 or 20 ? MessageFlags.Seen : MessageFlags.None)).ToArray();
        var runner = new SearchRunner(FromInfos(infos));
        Assert.Equal("* ESEARCH (TAG \"x\") ALL 1:3,7,9:10,20\r\n", await runner.RunAsync("x SEARCH RETURN (ALL) SEEN"));
        // UIDs 2, 4, 6 are not consecutive: no ranges.
        Assert.Equal("* ESEARCH (TAG \"y\") UID ALL 2,4,6,14,18,20,40\r\n", await runner.RunAsync("y UID SEARCH RETURN (ALL) SEEN"));
    }
}
