// The floor worker's only activity: nothing, so that the floor pays just Temporal's dispatch of one activity.
export const floorActivities = {
  async noop(): Promise<void> {},
};
