using Mail.Protocols.InMemory;

namespace Mail.Protocols.Tests;

/// <summary>Addresses of the in-memory directory: one owner per address, compared by normal form.</summary>
public class InMemoryUserDirectoryTests
{
    [Theory]
    [InlineData("alice@example.test")]
    [InlineData("ALICE@example.test")]
    [InlineData("\uFF41lice@example.test")] // fullwidth a: the same normal form
    [InlineData("postmaster@example.test")] // alice's alias
    public async Task An_alias_that_is_another_users_address_is_refused_and_the_address_stays_theirs(string alias)
    {
        var users = new InMemoryUserDirectory();
        var alice = users.AddUser("alice@example.test", "alice", "postmaster@example.test");

        var error = Assert.Throws<ArgumentException>(() => users.AddUser("mallory@example.test", "mallory", alias));

        Assert.Equal("aliases", error.ParamName);
        Assert.Contains("belongs to the user 'alice@example.test'", error.Message, StringComparison.Ordinal);
        Assert.Equal(alice, await users.FindByAddressAsync(alias));
        Assert.Null(await users.FindByLoginAsync("mallory@example.test")); // nothing half-added
        Assert.Null(await users.FindByAddressAsync("mallory@example.test"));
    }

    [Fact]
    public async Task A_user_added_again_keeps_its_own_addresses_and_addresses_are_found_by_normal_form()
    {
        var users = new InMemoryUserDirectory();
        users.AddUser("alice@example.test", "alice", "postmaster@example.test");
        var again = users.AddUser("alice@example.test", "new password", "POSTMASTER@example.test");
        users.AddUser("bob@example.test", "bob", "sales@example.test");

        Assert.Equal(again, await users.FindByAddressAsync("\uFF50ostmaster@example.test"));
        Assert.Equal("bob@example.test", (await users.FindByAddressAsync("Sales@Example.Test"))?.Login);
    }
}
