using Mail.Protocols.Addressing;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;

namespace Mail.Protocols.Tests;

/// <summary>How <see cref="RecipientResolver"/> turns an address of a local domain into destinations.</summary>
public sealed class RecipientResolverTests
{
    private readonly InMemoryUserDirectory _users = new();
    private readonly InMemoryAddressBook _book = new();
    private readonly RecipientPolicyOptions _options = new() { PostmasterLogin = "alice@example.test" };

    public RecipientResolverTests()
    {
        _options.LocalDomains.Add("example.test");
        _options.LocalDomains.Add("other.test");
        _users.AddUser("alice@example.test", "pw", "a.smith@example.test");
        _users.AddUser("bob@example.test", "pw");
        _users.AddUser("carol@other.test", "pw");
    }

    private ValueTask<RecipientDecision> ResolveAsync(string address) => new RecipientResolver(_options, _users, _book).ResolveAsync(address);

    private static string[] Describe(RecipientDecision decision) =>
        [.. decision.Destinations.Select(d => d.IsLocal ? d.Subaddress is { } tag ? $"{d.LocalUser} [{tag}]" : d.LocalUser!
            : d.List is { } list ? $"list {list.Address} from {list.Owner}: {string.Join(", ", list.Members)}" : "-> " + d.ForwardTo)];

    private static void AssertRefused(RecipientDecision decision, int code, string enhancedCode)
    {
        Assert.Equal(RecipientRoute.Rejected, decision.Route);
        Assert.Equal((code, enhancedCode), (decision.Rejection!.Code, decision.Rejection.EnhancedCode));
    }

    [Fact]
    public async Task A_user_address_is_one_local_mailbox_as_before()
    {
        var decision = await ResolveAsync("A.Smith@Example.TEST");
        Assert.Equal(RecipientRoute.Local, decision.Route);
        Assert.Equal("alice@example.test", decision.LocalUser);
        Assert.Equal(["alice@example.test"], Describe(decision));
    }

    [Fact]
    public async Task An_alias_reaches_each_local_target_and_forwards_remote_ones()
    {
        _book.AddAlias("sales@example.test", "alice@example.test", "bob@example.test", "Partner@Remote.EXAMPLE");
        var decision = await ResolveAsync("sales@example.test");
        Assert.Equal(RecipientRoute.Expanded, decision.Route);
        Assert.Equal(["alice@example.test", "bob@example.test", "-> Partner@Remote.EXAMPLE"], Describe(decision));
    }

    [Fact]
    public async Task Alias_keys_match_in_any_case_and_the_user_wins_over_an_alias_of_the_same_address()
    {
        _book.AddAlias("sales@example.test", "bob@example.test");
        _book.AddAlias("alice@example.test", "bob@example.test"); // shadowed: the user is looked up first
        Assert.Equal(["bob@example.test"], Describe(await ResolveAsync("SALES@Example.Test")));
        Assert.Equal(["alice@example.test"], Describe(await ResolveAsync("alice@example.test")));
    }

    [Fact]
    public async Task Nested_aliases_resolve_through_every_level_and_across_local_domains()
    {
        _book.AddAlias("all@example.test", "sales@example.test", "staff@other.test");
        _book.AddAlias("sales@example.test", "alice@example.test");
        _book.AddAlias("staff@other.test", "carol@other.test", "bob@example.test");
        Assert.Equal(["alice@example.test", "carol@other.test", "bob@example.test"], Describe(await ResolveAsync("all@example.test")));
    }

    [Fact]
    public async Task Two_paths_to_one_user_or_one_remote_address_give_one_destination()
    {
        // A diamond (all -> x, y; x -> alice; y -> alice) is no loop; alice's second address is still alice.
        _book.AddAlias("all@example.test", "x@example.test", "y@example.test", "A.Smith@example.test", "far@remote.example", "far@REMOTE.example");
        _book.AddAlias("x@example.test", "alice@example.test", "far@remote.example");
        _book.AddAlias("y@example.test", "ALICE@example.test", "x@example.test");
        Assert.Equal(["alice@example.test", "-> far@remote.example"], Describe(await ResolveAsync("all@example.test")));
    }

    [Fact]
    public async Task A_remote_local_part_keeps_its_case_as_a_separate_destination()
    {
        _book.AddAlias("fwd@example.test", "Far@remote.example", "far@remote.example");
        Assert.Equal(["-> Far@remote.example", "-> far@remote.example"], Describe(await ResolveAsync("fwd@example.test")));
    }

    [Theory]
    [InlineData("loop@example.test", "loop@example.test")]                            // to itself
    [InlineData("a@example.test", "b@example.test")]                                  // a -> b -> a
    [InlineData("a@example.test", "b+tag@example.test")]                               // a -> b, b+tag resolves as b
    public async Task An_alias_loop_is_refused_with_5_4_6(string first, string second)
    {
        _book.AddAlias(first, "alice@example.test", second);
        if (!string.Equals(first, second, StringComparison.Ordinal))
        {
            _book.AddAlias(second.Replace("+tag", "", StringComparison.Ordinal), first);
        }
        AssertRefused(await ResolveAsync(first), 550, "5.4.6");
    }

    [Fact]
    public async Task Aliases_nest_up_to_the_depth_limit_and_one_more_is_refused_with_5_4_6()
    {
        _options.Addressing.MaxAliasDepth = 3;
        // a1 -> a2 -> a3 -> alice: three expansions.
        _book.AddAlias("a1@example.test", "a2@example.test");
        _book.AddAlias("a2@example.test", "a3@example.test");
        _book.AddAlias("a3@example.test", "alice@example.test");
        Assert.Equal(["alice@example.test"], Describe(await ResolveAsync("a1@example.test")));

        // a0 -> a1 -> ... : four.
        _book.AddAlias("a0@example.test", "a1@example.test");
        AssertRefused(await ResolveAsync("a0@example.test"), 550, "5.4.6");
    }

    [Fact]
    public async Task The_default_depth_limit_is_ten()
    {
        for (var i = 0; i < 10; i++)
        {
            _book.AddAlias($"d{i}@example.test", i == 9 ? "bob@example.test" : $"d{i + 1}@example.test");
        }
        Assert.Equal(["bob@example.test"], Describe(await ResolveAsync("d0@example.test")));
        _book.AddAlias("d-1@example.test", "d0@example.test");
        AssertRefused(await ResolveAsync("d-1@example.test"), 550, "5.4.6");
    }

    [Fact]
    public async Task The_catch_all_takes_unknown_addresses_of_its_domain_only()
    {
        _book.SetCatchAll("example.test", "bob@example.test");
        _book.AddAlias("sales@example.test", "alice@example.test");
        Assert.Equal(["bob@example.test"], Describe(await ResolveAsync("whoever@EXAMPLE.test")));
        Assert.Equal(["alice@example.test"], Describe(await ResolveAsync("alice@example.test")));
        Assert.Equal(["alice@example.test"], Describe(await ResolveAsync("sales@example.test")));
        AssertRefused(await ResolveAsync("whoever@other.test"), 550, "5.1.1");
    }

    [Fact]
    public async Task Postmaster_goes_to_the_postmaster_before_the_catch_all()
    {
        _book.SetCatchAll("example.test", "bob@example.test");
        Assert.Equal(["alice@example.test"], Describe(await ResolveAsync("PostMaster@example.test")));
    }

    [Fact]
    public async Task A_catch_all_whose_target_does_not_exist_reaches_nothing_and_is_no_loop()
    {
        _book.SetCatchAll("example.test", "gone@example.test");
        AssertRefused(await ResolveAsync("whoever@example.test"), 550, "5.1.1");
    }

    [Fact]
    public async Task A_target_that_does_not_exist_is_skipped_and_an_alias_of_only_such_targets_is_unknown()
    {
        _book.AddAlias("sales@example.test", "gone@example.test", "bob@example.test");
        _book.AddAlias("stale@example.test", "gone@example.test", "left@other.test");
        Assert.Equal(["bob@example.test"], Describe(await ResolveAsync("sales@example.test")));
        AssertRefused(await ResolveAsync("stale@example.test"), 550, "5.1.1");
    }

    [Fact]
    public async Task A_subaddress_reaches_the_user_with_its_tag()
    {
        var decision = await ResolveAsync("Alice+News@example.test");
        Assert.Equal(RecipientRoute.Expanded, decision.Route);
        Assert.Equal(["alice@example.test [News]"], Describe(decision));
        Assert.Equal(["alice@example.test [a+b]"], Describe(await ResolveAsync("alice+a+b@example.test"))); // split at the first separator
        Assert.Equal(["alice@example.test"], Describe(await ResolveAsync("alice+@example.test")));          // an empty tag is none
        AssertRefused(await ResolveAsync("+news@example.test"), 550, "5.1.1");                              // no user part
    }

    [Fact]
    public async Task The_exact_address_wins_over_its_subaddress_reading_and_a_subaddressed_alias_expands()
    {
        _book.AddAlias("alice+list@example.test", "bob@example.test");
        _book.AddAlias("sales@example.test", "alice@example.test", "bob@example.test");
        Assert.Equal(["bob@example.test"], Describe(await ResolveAsync("alice+list@example.test")));
        Assert.Equal(["alice@example.test [q3]", "bob@example.test [q3]"], Describe(await ResolveAsync("sales+q3@example.test")));
    }

    [Fact]
    public async Task An_alias_passes_its_tag_on_to_local_targets_without_a_tag_of_their_own_and_never_to_remote_ones_or_lists()
    {
        _book.AddAlias("sales@example.test", "team@example.test", "bob+desk@example.test", "Far@Remote.example", "crew@example.test", "carol@other.test");
        _book.AddAlias("team@example.test", "alice@example.test");
        _book.AddList("crew@example.test", "bob@example.test", "alice@example.test");
        _options.Addressing.DomainsWithoutSubaddresses.Add("other.test");
        Assert.Equal(
            ["alice@example.test [q3]", "bob@example.test [desk]", "-> Far@Remote.example", "list crew@example.test from bob@example.test: alice@example.test", "carol@other.test"],
            Describe(await ResolveAsync("sales+q3@example.test")));
        // Without the tag, or with propagation off, nobody gets one.
        Assert.Equal(["alice@example.test", "bob@example.test [desk]", "-> Far@Remote.example", "list crew@example.test from bob@example.test: alice@example.test", "carol@other.test"],
            Describe(await ResolveAsync("sales@example.test")));
        _options.Addressing.PropagateSubaddress = false;
        Assert.Equal(["alice@example.test", "bob@example.test [desk]", "-> Far@Remote.example", "list crew@example.test from bob@example.test: alice@example.test", "carol@other.test"],
            Describe(await ResolveAsync("sales+q3@example.test")));
    }

    [Fact]
    public async Task Subaddresses_can_be_switched_off_everywhere_or_per_domain_and_the_separator_chosen()
    {
        _options.Addressing.DomainsWithoutSubaddresses.Add("OTHER.test");
        Assert.Equal(["alice@example.test [x]"], Describe(await ResolveAsync("alice+x@example.test")));
        AssertRefused(await ResolveAsync("carol+x@other.test"), 550, "5.1.1");

        _options.Addressing.SubaddressSeparator = '-';
        AssertRefused(await ResolveAsync("alice+x@example.test"), 550, "5.1.1");
        Assert.Equal(["alice@example.test [x]"], Describe(await ResolveAsync("alice-x@example.test")));

        _options.Addressing.SubaddressSeparator = null;
        AssertRefused(await ResolveAsync("alice-x@example.test"), 550, "5.1.1");
        Assert.Throws<ArgumentOutOfRangeException>(() => _options.Addressing.SubaddressSeparator = '@');
        Assert.Throws<ArgumentOutOfRangeException>(() => _options.Addressing.SubaddressSeparator = ' ');
    }

    [Fact]
    public async Task The_subaddress_that_reaches_a_user_first_is_kept_when_a_second_path_reaches_the_same_user()
    {
        _book.AddAlias("both@example.test", "alice+first@example.test", "alice@example.test", "alice+second@example.test");
        Assert.Equal(["alice@example.test [first]"], Describe(await ResolveAsync("both@example.test")));
    }

    [Fact]
    public async Task An_expansion_may_reach_the_destination_limit_and_one_more_is_refused_with_5_5_3()
    {
        _options.Addressing.MaxDestinations = 3;
        _book.AddAlias("three@example.test", "alice@example.test", "bob@example.test", "x@remote.example", "ALICE@example.test");
        _book.AddAlias("four@example.test", "three@example.test", "y@remote.example");
        Assert.Equal(3, (await ResolveAsync("three@example.test")).Destinations.Count);
        AssertRefused(await ResolveAsync("four@example.test"), 550, "5.5.3");
    }

    [Fact]
    public async Task A_wide_graph_of_repeated_aliases_costs_one_lookup_per_address_and_is_bounded()
    {
        // Each level names the next one twice: without remembering what is expanded, that is 2^12 visits.
        for (var i = 0; i < 12; i++)
        {
            _book.AddAlias($"w{i}@example.test", $"w{i + 1}@example.test", $"w{i + 1}@example.test", "bob@example.test");
        }
        _book.AddAlias("w12@example.test", "alice@example.test");
        _options.Addressing.MaxAliasDepth = 20;
        _options.Addressing.MaxLookups = 15; // w0..w12 and alice, bob
        Assert.Equal(["alice@example.test", "bob@example.test"], Describe(await ResolveAsync("w0@example.test")));
        _options.Addressing.MaxLookups = 14;
        AssertRefused(await ResolveAsync("w0@example.test"), 550, "5.5.3");
    }

    [Fact]
    public async Task An_unknown_address_without_catch_all_is_refused_as_before()
    {
        AssertRefused(await ResolveAsync("nobody@example.test"), 550, "5.1.1");
        AssertRefused(await new RecipientResolver(_options, _users).ResolveAsync("nobody@example.test"), 550, "5.1.1");
    }

    [Fact]
    public void Alias_entries_need_full_target_addresses()
    {
        Assert.Throws<ArgumentException>(() => AddressEntry.Alias());
        Assert.Throws<ArgumentException>(() => AddressEntry.Alias("bob"));
        Assert.Throws<ArgumentException>(() => AddressEntry.Alias("bob@"));
        Assert.Throws<ArgumentException>(() => AddressEntry.Alias("b ob@example.test"));
        Assert.Throws<ArgumentException>(() => _book.AddAlias("@example.test", "bob@example.test"));
        Assert.Throws<ArgumentException>(() => _book.SetCatchAll("x@example.test", "bob@example.test"));
        Assert.Equal(AddressEntryKind.Alias, AddressEntry.Alias("bob@example.test").Kind);
    }

    [Fact]
    public async Task A_list_is_one_destination_whose_members_are_left_for_delivery_to_resolve()
    {
        // Members are not looked up at RCPT: an unknown or looping member is the owner's to hear about at delivery.
        _book.AddList("crew@example.test", "bob@example.test", "alice@example.test", "nobody@example.test", "crew@example.test", "far@remote.example");
        _book.AddAlias("everyone@example.test", "crew@example.test", "bob@example.test", "crew+x@example.test");
        var decision = await ResolveAsync("Crew@Example.test");
        Assert.Equal(RecipientRoute.Expanded, decision.Route);
        Assert.Equal(["list Crew@Example.test from bob@example.test: alice@example.test, nobody@example.test, crew@example.test, far@remote.example"], Describe(decision));
        // Reached through an alias (and again through its subaddress), it is still one destination.
        Assert.Equal(["list crew@example.test from bob@example.test: alice@example.test, nobody@example.test, crew@example.test, far@remote.example", "bob@example.test"],
            Describe(await ResolveAsync("everyone@example.test")));
        Assert.Equal(["list crew@example.test from bob@example.test: alice@example.test, nobody@example.test, crew@example.test, far@remote.example"],
            Describe(await ResolveAsync("crew+news@example.test")));
    }

    [Fact]
    public async Task An_srs_address_of_the_rewriters_domain_resolves_to_the_sender_it_encodes_and_a_forged_one_is_refused()
    {
        var rewriter = new SenderRewriter(new SenderRewritingOptions { Secret = "sixteen octets at least!"u8.ToArray(), Domain = "example.test" });
        _book.SetCatchAll("example.test", "bob@example.test"); // never catches an SRS address
        var resolver = new RecipientResolver(_options, _users, _book, rewriter);

        var remote = rewriter.Forward("writer@far.example");
        Assert.StartsWith("SRS0=", remote, StringComparison.Ordinal);
        Assert.Equal(["-> writer@far.example"], Describe(await resolver.ResolveAsync(remote)));
        // A local writer whose mail was forwarded gets the bounce in the mailbox.
        Assert.Equal(["carol@other.test"], Describe(await resolver.ResolveAsync(rewriter.Forward("carol@other.test"))));

        var forged = remote[..5] + (char.ToUpperInvariant(remote[5]) == 'B' ? 'C' : 'B') + remote[6..];
        AssertRefused(await resolver.ResolveAsync(forged), 550, "5.1.1");
        AssertRefused(await resolver.ResolveAsync("SRS0=xxxx=AA=far.example=writer@example.test"), 550, "5.1.1");
        // Without a rewriter such an address is only a local part like any other: here, the catch-all's.
        Assert.Equal(["bob@example.test"], Describe(await ResolveAsync(remote)));
    }

    [Fact]
    public async Task A_tag_is_not_passed_on_to_postmaster_which_is_matched_whole_and_a_list_past_its_member_limit_is_refused()
    {
        _book.AddAlias("abuse@example.test", "postmaster@example.test");
        Assert.Equal(["alice@example.test"], Describe(await ResolveAsync("abuse+spam@example.test")));

        _book.AddList("crew@example.test", "bob@example.test", "alice@example.test", "bob@example.test", "far@remote.example");
        _options.Addressing.MaxListMembers = 3;
        Assert.Equal(RecipientRoute.Expanded, (await ResolveAsync("crew@example.test")).Route);
        _options.Addressing.MaxListMembers = 2;
        AssertRefused(await ResolveAsync("crew@example.test"), 550, "5.5.3");
    }

    [Fact]
    public void List_entries_need_a_full_owner_and_full_member_addresses()
    {
        Assert.Throws<ArgumentException>(() => AddressEntry.List("bob@example.test"));
        Assert.Throws<ArgumentException>(() => AddressEntry.List("bob", "alice@example.test"));
        Assert.Throws<ArgumentException>(() => AddressEntry.List("bob@example.test", "alice"));
        Assert.Throws<ArgumentException>(() => _book.AddList("crew", "bob@example.test", "alice@example.test"));
        Assert.Throws<ArgumentException>(() => _book.AddList("crew@example.test", "Crew@Example.test", "alice@example.test"));
        var entry = AddressEntry.List("bob@example.test", "alice@example.test");
        Assert.Equal((AddressEntryKind.List, "bob@example.test"), (entry.Kind, entry.Owner));
        Assert.Null(AddressEntry.Alias("bob@example.test").Owner);
    }

    [Fact]
    public async Task A_user_address_costs_one_user_lookup_and_an_alias_no_repeated_one()
    {
        var users = new CountingUsers(_users);
        _book.AddAlias("sales@example.test", "alice@example.test");
        var resolver = new RecipientResolver(_options, users, _book);

        Assert.Equal("bob@example.test", (await resolver.ResolveAsync("bob@example.test")).LocalUser);
        Assert.Equal(1, users.AddressLookups);
        Assert.Equal(["alice@example.test"], Describe(await resolver.ResolveAsync("sales@example.test")));
        Assert.Equal(1 + 2, users.AddressLookups); // sales@ once (no user), then alice@
    }

    private sealed class CountingUsers(Users.IUserDirectory inner) : Users.IUserDirectory
    {
        public int AddressLookups { get; private set; }

        public ValueTask<Users.MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default)
        {
            AddressLookups++;
            return inner.FindByAddressAsync(address, cancellationToken);
        }

        public ValueTask<Users.MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) => inner.FindByLoginAsync(login, cancellationToken);

        public ValueTask<bool> VerifyPasswordAsync(Users.MailUser user, string password, CancellationToken cancellationToken = default) => inner.VerifyPasswordAsync(user, password, cancellationToken);

        public ValueTask<string?> GetSharedSecretAsync(Users.MailUser user, CancellationToken cancellationToken = default) => inner.GetSharedSecretAsync(user, cancellationToken);

        public bool HasSharedSecrets => inner.HasSharedSecrets;

        public ValueTask<Users.ScramCredential?> GetScramCredentialAsync(Users.MailUser user, CancellationToken cancellationToken = default) => inner.GetScramCredentialAsync(user, cancellationToken);
    }
}
