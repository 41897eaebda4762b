package entra

import (
	"fmt"
	"strings"
)

// Population is a large generated directory, for trying and measuring idpctl against a tenant of realistic
// size (idpctl sandbox --users 100000): Users people, in groups of GroupSize members each.
type Population struct {
	Users int
	// GroupSize is the members per group; default 10,000. The last group holds the rest.
	GroupSize int
}

// PopulationInfo is what SeedPopulation created.
type PopulationInfo struct {
	Users  int
	Groups []Group // without MemberIDs, which would copy every member
}

// SeedPopulation adds p.Users generated users, named from common given names and surnames (so searching for
// a name finds many people, as in a real directory), and puts them in groups named after departments. It adds
// objects directly rather than one AddUser at a time, which checks the whole directory for each user.
func (t *Tenant) SeedPopulation(p Population) (PopulationInfo, error) {
	if p.Users < 0 {
		return PopulationInfo{}, fmt.Errorf("seed population: %d users; give zero or more", p.Users)
	}
	if p.GroupSize <= 0 {
		p.GroupSize = 10_000
	}
	given, surnames, departments := populationGivenNames(), populationSurnames(), populationDepartments()
	t.mu.Lock()
	defer t.mu.Unlock()
	taken := map[string]bool{}
	for _, r := range t.st.users {
		taken[strings.ToLower(str(r.data, "userPrincipalName"))] = true
	}
	info := PopulationInfo{Users: p.Users}
	var group string
	for i := range p.Users {
		if i%p.GroupSize == 0 {
			n := i / p.GroupSize
			name := departments[n%len(departments)]
			if round := n / len(departments); round > 0 {
				name = fmt.Sprintf("%s %d", name, round+1)
			}
			g := t.groupObject(object{
				"displayName": name, "description": fmt.Sprintf("Generated department of up to %d people", p.GroupSize),
				"mailNickname": strings.ToLower(strings.ReplaceAll(name, " ", "")), "securityEnabled": true,
			})
			t.st.add(t.st.groups, g, 0)
			group = str(g, "id")
			info.Groups = append(info.Groups, Group{ID: group, DisplayName: name, SecurityEnabled: true, Raw: deepCopy(g)})
		}
		first, last := given[i%len(given)], surnames[(i/len(given))%len(surnames)]
		local := strings.ToLower(first + "." + last)
		upn := local + "@" + t.domain
		for k := 2; taken[strings.ToLower(upn)]; k++ {
			upn = fmt.Sprintf("%s%d@%s", local, k, t.domain)
		}
		taken[strings.ToLower(upn)] = true
		u := t.userObject(object{
			"userPrincipalName": upn, "displayName": first + " " + last, "givenName": first, "surname": last,
			"mail": upn, "department": departments[(i/p.GroupSize)%len(departments)], "accountEnabled": true,
		})
		t.st.add(t.st.users, u, 0)
		t.st.members[group] = append(t.st.members[group], str(u, "id"))
	}
	if p.Users > 0 {
		// Built now, while the sandbox starts, rather than on the first keystroke of a picker.
		t.st.index(usersCollection, userCollection("users"))
		t.st.index(groupsCollection, groupCollection("groups"))
	}
	return info, nil
}

func populationGivenNames() []string {
	return strings.Fields(`Aaron Abigail Adam Adele Adrian Aisha Alan Alex Alice Amara Amir Ana Andrea Andrew Angela Anna
		Anton Ari Arjun Astrid Ava Ben Bianca Bruno Camila Carlos Carmen Chen Chloe Chris Clara Daniel Dara David Diego
		Dmitri Elena Eli Elif Emma Eric Eva Farah Felix Fatima Finn Grace Grady Hana Hannah Hugo Ian Ines Isaac Ivan
		Jack Jada James Jana Javier Jin John Jonas Jose Julia Kai Kamal Karen Kate Kenji Lara Lee Leila Leo Liam Lina
		Lucas Luis Maya Megan Mei Mia Miguel Nadia Nina Noah Nora Olga Omar Oscar Paula Pedro Priya Rafael Rosa Sam`)
}

func populationSurnames() []string {
	return strings.Fields(`Abbott Adams Ahmed Ali Allen Alvarez Anderson Archie Bailey Baker Bauer Becker Bell Bowen
		Brown Campbell Carter Castro Chen Clark Cohen Collins Cruz Davies Diaz Dubois Edwards Evans Fischer Flores Garcia
		Gomez Gonzalez Green Gu Hall Hansen Harris Hernandez Hill Huang Ito Jackson Jensen Johnson Jones Kaur Kim King
		Klein Kowalski Kumar Lee Lewis Li Lopez Martin Martinez Meyer Miller Moore Morales Muller Murphy Nguyen Novak
		Olsen Ortiz Park Patel Perez Petrov Phillips Ramos Reyes Richter Rivera Roberts Rodriguez Rossi Sanchez Santos
		Schmidt Scott Siciliani Silva Singh Smith Tanaka Taylor Thomas Torres Turner Vance Walker Wang Weber Wilber Wilson`)
}

func populationDepartments() []string {
	return []string{"Sales", "Customer Support", "Operations", "Finance", "Research", "Marketing", "Legal",
		"Facilities", "Product Design", "Security Operations"}
}
