using Mail.Protocols.InMemory;

namespace Mail.Protocols.Smtp.Tests.Transcripts;

/// <summary>
/// A mailing list in the dialogue: RCPT accepts it as one recipient, EXPN lists its members as they are listed
/// (RFC 5321 §3.5.2), VRFY answers with the list's own address, and VERB reports what the list did with the message.
/// </summary>
public class MailingListTranscriptTests
{
    // crew@ is a list owned by bob@ of alice@, the alias sales@ (alice and bob) and a remote member.
    private static SmtpTestHarness Harness()
    {
        var book = new InMemoryAddressBook();
        book.AddAlias("sales@example.test", "alice@example.test", "bob@example.test");
        book.AddList("crew@example.test", "bob@example.test", "alice@example.test", "sales@example.test", "far@remote.test");
        return new SmtpTestHarness(o =>
        {
            o.Vrfy = AddressQueryMode.On;
            o.Expn = AddressQueryMode.On;
        }, addressBook: book);
    }


    [Fact]
    public async Task Expn_of_a_list_names_each_member_as_listed_and_vrfy_answers_with_the_list()
    {
        await using var h = Harness();
        await h.StartAsync();
        Assert.Equal(
            ["250-2.1.5 <alice@example.test>", "250-2.1.5 <sales@example.test>", "250 2.1.5 <far@remote.test>"],
            await h.CommandLinesAsync("EXPN <Crew@example.test>"));
        Assert.Equal(["250 2.1.5 <crew@example.test>"], await h.CommandLinesAsync("VRFY crew@example.test"));
    }

    [Fact]
    public async Task Verb_reports_the_copies_a_list_sent_on_and_the_remote_ones_queued_from_the_owner()
    {
        await using var h = Harness();
        await h.StartAsync();
        Assert.Equal("250 2.0.0 Verbose mode on", await h.CommandAsync("VERB"));
        await h.CommandAsync("MAIL FROM:<writer@example.org>");
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<crew@example.test>"));
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        var lines = await h.CommandLinesAsync("Subject: to the crew\r\n\r\nhi\r\n.");
        Assert.Equal(
            [
                "250-2.0.0 <crew@example.test> list: sent on to 3 member(s) from <bob@example.test>",
                "250-2.0.0 <alice@example.test> stored for alice@example.test in INBOX",
                "250-2.0.0 <sales@example.test> expanded to 2 destinations",
                "250-2.0.0 <sales@example.test> already stored for alice@example.test in this message",
                "250-2.0.0 <sales@example.test> stored for bob@example.test in INBOX",
                "250-2.0.0 <crew@example.test> list: 1 remote member(s) queued from <bob@example.test>",
            ],
            lines[..^1]);
        Assert.Matches("^250 2.0.0 [0-9A-Za-z]+ Message accepted for delivery$", lines[^1]);
        Assert.Single(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.Single(await h.Store.ListMessagesAsync("bob@example.test", "INBOX"));
        var lease = Assert.Single(await h.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        Assert.Equal("bob@example.test", lease.Envelope.ReversePath);
        Assert.Equal("far@remote.test", Assert.Single(lease.Envelope.Recipients).Address);
    }
}
