/* test_teamindex.c: the teams in memory — the nearest available volunteer teams with a fresh
 * position, and every team's name (what a resident's tracking page shows of the team holding
 * the request, issue 15): kept for teams of any role, disabled ones and teams without a
 * position, replaced when a team is applied again, forgotten by a clear, cut safely. */
#include "teamindex.h"

#include "hm_test.h"
#include "model.h"

#include <stdio.h>
#include <string.h>

static hm_team team(int64_t id, const char *name, int role, bool has_pos, bool disabled)
{
    hm_team t;
    memset(&t, 0, sizeof t);
    t.id = id;
    snprintf(t.name, sizeof t.name, "%s", name);
    t.role = role;
    t.status = HM_TEAM_AVAILABLE;
    t.has_pos = has_pos;
    t.lon = 106.5 + 0.001 * (double)id;
    t.lat = 11.0;
    t.pos_at = 1000;
    t.disabled = disabled;
    return t;
}

int main(void)
{
    hm_team_index *ix = hm_team_index_create();
    char name[104], small[6];
    int64_t ids[8];
    hm_team t;

    hm_team_index_apply(ix, &(hm_team){0}); /* id 0: nobody */
    hm_team_index_apply(ix,
                        (t = team(1, "Đội Phú Hòa Đông 1", HM_ROLE_VOLUNTEER, true, false), &t));
    hm_team_index_apply(ix,
                        (t = team(2, "Trung tâm chỉ huy", HM_ROLE_COORDINATOR, false, false), &t));
    hm_team_index_apply(ix, (t = team(3, "Đội đã nghỉ", HM_ROLE_VOLUNTEER, true, true), &t));
    /* Enough teams to grow the table several times. */
    for (int64_t id = 10; id < 400; id++) {
        char n[32];
        snprintf(n, sizeof n, "Đội %lld", (long long)id);
        hm_team_index_apply(ix, (t = team(id, n, HM_ROLE_VOLUNTEER, false, false), &t));
    }

    CHECK(hm_team_index_name(ix, 1, name, sizeof name));
    CHECK_STR_EQ(name, "Đội Phú Hòa Đông 1");
    CHECK(hm_team_index_name(ix, 2, name, sizeof name));
    CHECK_STR_EQ(name, "Trung tâm chỉ huy");
    CHECK(hm_team_index_name(ix, 3, name, sizeof name));
    CHECK_STR_EQ(name, "Đội đã nghỉ");
    CHECK(hm_team_index_name(ix, 399, name, sizeof name));
    CHECK_STR_EQ(name, "Đội 399");
    CHECK(!hm_team_index_name(ix, 4, name, sizeof name));
    CHECK_STR_EQ(name, "");
    CHECK(!hm_team_index_name(ix, 0, name, sizeof name));
    CHECK(!hm_team_index_name(ix, -1, name, sizeof name));
    /* Cut to the buffer, NUL-terminated. */
    CHECK(hm_team_index_name(ix, 2, small, sizeof small));
    CHECK_STR_EQ(small, "Trung");

    /* Only the enabled volunteer team with a position is near; names stay for all. */
    CHECK_INT_EQ(hm_team_index_nearest(ix, 106.5, 11.0, 2000, 8, NULL, 0, ids, NULL), 1);
    CHECK_INT_EQ(ids[0], 1);

    /* Applied again: the new name; disabled: still named. */
    hm_team_index_apply(ix, (t = team(1, "Đội mới", HM_ROLE_VOLUNTEER, true, true), &t));
    CHECK(hm_team_index_name(ix, 1, name, sizeof name));
    CHECK_STR_EQ(name, "Đội mới");
    CHECK_INT_EQ(hm_team_index_nearest(ix, 106.5, 11.0, 2000, 8, NULL, 0, ids, NULL), 0);

    hm_team_index_clear(ix);
    CHECK(!hm_team_index_name(ix, 2, name, sizeof name));
    hm_team_index_apply(ix, (t = team(2, "Lại có", HM_ROLE_OPERATOR, false, false), &t));
    CHECK(hm_team_index_name(ix, 2, name, sizeof name));
    CHECK_STR_EQ(name, "Lại có");
    hm_team_index_destroy(ix);
    hm_team_index_destroy(NULL);
    return hm_test_done("test_teamindex");
}
