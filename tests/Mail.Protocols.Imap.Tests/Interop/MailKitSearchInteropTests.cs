using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>MailKit's SearchAsync over loopback: text, address, body, flag, keyword, date, size and UID keys, combined with AND, OR and NOT, and ESEARCH.</summary>
public sealed class MailKitSearchInteropTests
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    private static DateTimeOffset Day(int month, int day) => new(2026, month, day, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Search_keys_and_their_combinations_find_exactly_the_matching_messages()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var inbox = client.Inbox;
        var alice = ImapInteropHost.Alice;

        // Five messages with distinct subjects, senders, bodies, sent dates (Date:), internal dates, flags and sizes.
        var requests = new[]
        {
            new AppendRequest(InteropMessages.Plain(alice, "Budget meeting", "Let us discuss the budget on Monday.\r\n", "alice.smith@example.org", Day(1, 9)),
                MessageFlags.Seen, Day(1, 10)),
            new AppendRequest(InteropMessages.Plain(alice, "Lunch?", "Pizza at noon?\r\n", "bob@example.net", Day(2, 14)),
                MessageFlags.Flagged, ["$Important"], Day(2, 15)),
            new AppendRequest(InteropMessages.Plain(alice, "Re: Budget meeting", "Sounds good to me.\r\n", "carol@example.com", Day(3, 19)),
                MessageFlags.Seen | MessageFlags.Answered, Day(3, 20)),
            new AppendRequest(InteropMessages.Plain(alice, "Grüße aus Köln", "Hallo aus dem Rheinland.\r\n", "dave@example.org", Day(3, 31)),
                MessageFlags.None, Day(4, 1)),
            // The rich message: quoted-printable UTF-8 text, a base64 attachment, much larger than the others.
            new AppendRequest(InteropMessages.Rich(alice), MessageFlags.Draft, ["$Important", "Work"], Day(5, 5)),
        };
        var uids = new List<uint>();
        foreach (var request in requests)
        {
            uids.Add((await inbox.AppendAsync(request, ct))!.Value.Id);
        }
        await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        Assert.Equal(5, inbox.Count);

        async Task Expect(SearchQuery query, params int[] numbers)
        {
            var found = await inbox.SearchAsync(query, ct);
            var expected = numbers.Select(n => uids[n - 1]).ToArray();
            Assert.True(expected.SequenceEqual(found.Select(u => u.Id)),
                $"{query}: expected UIDs [{string.Join(",", expected)}], found [{string.Join(",", found.Select(u => u.Id))}]\n{log.Transcript}");
        }

        await Expect(SearchQuery.All, 1, 2, 3, 4, 5);
        await Expect(SearchQuery.SubjectContains("budget"), 1, 3);
        await Expect(SearchQuery.SubjectContains("MEETING"), 1, 3);
        // Encoded words in the Subject are decoded before matching; MailKit sends CHARSET UTF-8.
        await Expect(SearchQuery.SubjectContains("Grüße"), 4, 5);
        await Expect(SearchQuery.SubjectContains("köln"), 4, 5);
        await Expect(SearchQuery.SubjectContains("nothing like this"));
        await Expect(SearchQuery.FromContains("example.org"), 1, 4, 5);
        await Expect(SearchQuery.FromContains("Jörg"), 5);
        await Expect(SearchQuery.ToContains("alice@"), 1, 2, 3, 4, 5);
        await Expect(SearchQuery.CcContains("carol@example.net"), 5);
        await Expect(SearchQuery.BodyContains("pizza"), 2);
        // The body of the rich message is quoted-printable UTF-8: "über" is "=C3=BCber" on the wire.
        await Expect(SearchQuery.BodyContains("Bericht über"), 5);
        await Expect(SearchQuery.BodyContains("Carol"));
        await Expect(SearchQuery.MessageContains("forwarded text"), 5);
        await Expect(SearchQuery.MessageContains("carol@example.com"), 3);
        await Expect(SearchQuery.HeaderContains("Message-Id", "rich.1@example.org"), 5);

        await Expect(SearchQuery.Seen, 1, 3);
        await Expect(SearchQuery.NotSeen, 2, 4, 5);
        await Expect(SearchQuery.Flagged, 2);
        await Expect(SearchQuery.Answered, 3);
        await Expect(SearchQuery.Draft, 5);
        await Expect(SearchQuery.NotFlags(MessageFlags.Seen | MessageFlags.Draft), 2, 4);
        await Expect(SearchQuery.HasKeyword("$Important"), 2, 5);
        await Expect(SearchQuery.HasKeyword("Work"), 5);
        await Expect(SearchQuery.NotKeyword("$Important"), 1, 3, 4);

        // Internal dates (SINCE, BEFORE, ON) and sent dates (SENTSINCE, SENTBEFORE, SENTON).
        await Expect(SearchQuery.DeliveredAfter(Day(2, 15).DateTime), 2, 3, 4, 5);
        await Expect(SearchQuery.DeliveredBefore(Day(3, 20).DateTime), 1, 2);
        await Expect(SearchQuery.DeliveredOn(Day(4, 1).DateTime), 4);
        await Expect(SearchQuery.SentOn(Day(3, 31).DateTime), 4);
        await Expect(SearchQuery.SentBefore(Day(2, 14).DateTime), 1);
        await Expect(SearchQuery.SentSince(Day(3, 19).DateTime), 3, 4, 5);

        await Expect(SearchQuery.LargerThan(2000), 5);
        await Expect(SearchQuery.SmallerThan(2000), 1, 2, 3, 4);
        await Expect(SearchQuery.Uids([new UniqueId(uids[1]), new UniqueId(uids[3]), new UniqueId(uids[4])]), 2, 4, 5);

        await Expect(SearchQuery.SubjectContains("budget").And(SearchQuery.NotSeen));
        await Expect(SearchQuery.SubjectContains("budget").And(SearchQuery.Answered), 3);
        await Expect(SearchQuery.SubjectContains("lunch").Or(SearchQuery.FromContains("carol")), 2, 3);
        await Expect(SearchQuery.Not(SearchQuery.FromContains("example.org")), 2, 3);
        await Expect(SearchQuery.Uids([new UniqueId(uids[1]), new UniqueId(uids[2]), new UniqueId(uids[3])]).And(SearchQuery.Not(SearchQuery.Seen)), 2, 4);
        await Expect(SearchQuery.Or(SearchQuery.HasKeyword("$Important"), SearchQuery.DeliveredBefore(Day(1, 11).DateTime)).And(SearchQuery.Not(SearchQuery.Draft)), 1, 2);
        await Expect(SearchQuery.Not(SearchQuery.Or(SearchQuery.Seen, SearchQuery.Flagged)).And(SearchQuery.BodyContains("rheinland")), 4);

        // Within a UID set (UID SEARCH UID ...), and with ESEARCH's result options.
        var within = await inbox.SearchAsync([new UniqueId(uids[0]), new UniqueId(uids[1])], SearchQuery.NotSeen, ct);
        Assert.Equal([uids[1]], within.Select(u => u.Id));
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.ESearch), log.Transcript);
        var results = await inbox.SearchAsync(SearchOptions.All | SearchOptions.Count | SearchOptions.Min | SearchOptions.Max, SearchQuery.NotSeen, ct);
        Assert.Equal(3, results.Count);
        Assert.Equal(uids[1], results.Min!.Value.Id);
        Assert.Equal(uids[4], results.Max!.Value.Id);
        Assert.Equal([uids[1], uids[3], uids[4]], results.UniqueIds.Select(u => u.Id));
        var none = await inbox.SearchAsync(SearchOptions.All | SearchOptions.Count | SearchOptions.Min | SearchOptions.Max, SearchQuery.SubjectContains("absent"), ct);
        Assert.Equal(0, none.Count);
        Assert.Null(none.Min);
        Assert.Empty(none.UniqueIds);
        Assert.Contains("ESEARCH", log.Transcript, StringComparison.Ordinal);

        // CONDSTORE: MODSEQ in a search, and the highest modseq of the matches.
        await inbox.CloseAsync(false, ct);
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        var before = inbox.HighestModSeq;
        await inbox.AddFlagsAsync(new UniqueId(uids[3]), MessageFlags.Flagged, true, ct);
        // MailKit sends MODSEQ n, which matches modseqs of n and above (RFC 7162 §3.1.5): the last append has exactly `before`.
        Assert.Equal([uids[3], uids[4]], (await inbox.SearchAsync(SearchQuery.ChangedSince(before), ct)).Select(u => u.Id).Order());
        var changed = await inbox.SearchAsync(SearchQuery.ChangedSince(before + 1), ct);
        Assert.Equal([uids[3]], changed.Select(u => u.Id));
        await client.DisconnectAsync(true, ct);
    }
}
