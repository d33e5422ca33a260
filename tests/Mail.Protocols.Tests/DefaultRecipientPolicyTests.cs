using System.Net;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;

namespace Mail.Protocols.Tests;

public class DefaultRecipientPolicyTests
{
    private static (DefaultRecipientPolicy Policy, Mail.Protocols.Users.MailUser Alice) Create(Action<RecipientPolicyOptions>? configure = null)
    {
        var users = new InMemoryUserDirectory();
        var alice = users.AddUser("alice@example.test", "pw", "a.smith@example.test");
        var options = new RecipientPolicyOptions { PostmasterLogin = "alice@example.test" };
        options.LocalDomains.Add("example.test");
        configure?.Invoke(options);
        return (new DefaultRecipientPolicy(options, users), alice);
    }

    private static readonly PolicyContext s_anonymous = new(new IPEndPoint(IPAddress.Parse("198.51.100.7"), 1234), null, false, false);

    [Fact]
    public async Task Local_addresses_route_to_their_user_and_unknown_ones_are_refused()
    {
        var (policy, _) = Create();
        Assert.Equal("alice@example.test", (await policy.EvaluateRecipientAsync(s_anonymous, "A.Smith@EXAMPLE.test")).LocalUser);
        Assert.Equal("alice@example.test", (await policy.EvaluateRecipientAsync(s_anonymous, "postmaster@example.test")).LocalUser);
        Assert.Equal("alice@example.test", (await policy.EvaluateRecipientAsync(s_anonymous, "Postmaster")).LocalUser);
        var unknown = await policy.EvaluateRecipientAsync(s_anonymous, "nobody@example.test");
        Assert.Equal(550, unknown.Rejection!.Code);
    }

    [Fact]
    public async Task Bare_postmaster_without_a_postmaster_configured_is_an_unknown_mailbox_not_bad_syntax()
    {
        // The bare "Postmaster" is valid RFC 5321 syntax (§4.1.1.3); with nobody to receive it, it is a mailbox that does not exist.
        var (policy, _) = Create(o => o.PostmasterLogin = null);
        var refused = await policy.EvaluateRecipientAsync(s_anonymous, "Postmaster");
        Assert.Equal((550, "5.1.1"), (refused.Rejection!.Code, refused.Rejection.EnhancedCode));
        var bad = await policy.EvaluateRecipientAsync(s_anonymous, "alice");
        Assert.Equal((501, "5.1.3"), (bad.Rejection!.Code, bad.Rejection.EnhancedCode));
    }

    [Fact]
    public async Task Relay_only_for_authenticated_or_trusted_clients()
    {
        var (policy, alice) = Create(o => o.TrustedNetworks.Add(IPNetwork.Parse("10.0.0.0/8")));
        var denied = await policy.EvaluateRecipientAsync(s_anonymous, "someone@elsewhere.test");
        Assert.Equal(RecipientRoute.Rejected, denied.Route);
        Assert.Equal((554, "5.7.1"), (denied.Rejection!.Code, denied.Rejection.EnhancedCode));
        Assert.Equal(RecipientRoute.Relay, (await policy.EvaluateRecipientAsync(s_anonymous with { AuthenticatedUser = alice }, "someone@elsewhere.test")).Route);
        var trusted = s_anonymous with { RemoteEndPoint = new IPEndPoint(IPAddress.Parse("::ffff:10.1.2.3"), 1) };
        Assert.Equal(RecipientRoute.Relay, (await policy.EvaluateRecipientAsync(trusted, "someone@elsewhere.test")).Route);
    }

    [Fact]
    public async Task Authenticated_senders_may_use_only_their_own_addresses_unless_allowed()
    {
        var (policy, alice) = Create();
        var context = s_anonymous with { AuthenticatedUser = alice };
        Assert.Null((await policy.EvaluateSenderAsync(context, "a.smith@example.test")).Rejection);
        Assert.Null((await policy.EvaluateSenderAsync(context, "")).Rejection);
        Assert.Equal(553, (await policy.EvaluateSenderAsync(context, "ceo@example.test")).Rejection!.Code);
        Assert.Null((await policy.EvaluateSenderAsync(s_anonymous, "ceo@example.test")).Rejection);
        var (lenient, bob) = Create(o => o.AllowAnySenderWhenAuthenticated = true);
        Assert.Null((await lenient.EvaluateSenderAsync(s_anonymous with { AuthenticatedUser = bob }, "ceo@example.test")).Rejection);
    }

    [Fact]
    public async Task An_alias_that_forwards_to_another_domain_is_open_to_unauthenticated_clients_while_relay_stays_closed()
    {
        // The forward is the local operator's decision, so it is no open relay; the same remote address written by the client is.
        var users = new InMemoryUserDirectory();
        users.AddUser("alice@example.test", "pw");
        var book = new InMemoryAddressBook();
        book.AddAlias("desk@example.test", "alice@example.test", "desk@partner.example");
        var options = new RecipientPolicyOptions();
        options.LocalDomains.Add("example.test");
        var policy = new DefaultRecipientPolicy(options, users, book);

        var forwarded = await policy.EvaluateRecipientAsync(s_anonymous, "desk@example.test");
        Assert.Equal(RecipientRoute.Expanded, forwarded.Route);
        Assert.Equal([RecipientDestination.Mailbox("alice@example.test"), RecipientDestination.Forward("desk@partner.example")], forwarded.Destinations);
        var relay = await policy.EvaluateRecipientAsync(s_anonymous, "desk@partner.example");
        Assert.Equal((554, "5.7.1"), (relay.Rejection!.Code, relay.Rejection.EnhancedCode));
    }

    [Fact]
    public void Local_decisions_name_their_one_mailbox_and_relays_and_refusals_none()
    {
        Assert.Equal([RecipientDestination.Mailbox("kate@example.test")], RecipientDecision.Local("kate@example.test").Destinations);
        Assert.Empty(RecipientDecision.Relay.Destinations);
        Assert.Empty(RecipientDecision.Reject(550, "5.1.1", "no").Destinations);
        Assert.Throws<ArgumentException>(() => RecipientDecision.Expanded([]));
        Assert.Null(RecipientDestination.Mailbox("kate@example.test", "").Subaddress);
        // Decisions compare by value, destinations included.
        Assert.Equal(RecipientDecision.Local("kate@example.test"), new RecipientDecision(RecipientRoute.Local, "kate@example.test"));
        Assert.Equal(RecipientDecision.Expanded([RecipientDestination.Forward("a@b.example")]), RecipientDecision.Expanded([RecipientDestination.Forward("a@b.example")]));
        Assert.NotEqual(RecipientDecision.Expanded([RecipientDestination.Forward("a@b.example")]), RecipientDecision.Expanded([RecipientDestination.Forward("c@b.example")]));
    }
}
